//! The voxel lookup behind submanifold convolution: for each voxel and each of the 27 offsets
//! of a 3×3×3 kernel, the row of the voxel at that offset, or −1. Tensor ops only (a sorted key
//! table and binary search), so the map is built on the device the voxels are on.

use tch::{Kind, Tensor};

/// The kernel offsets in the order of a `[out, 3, 3, 3, in]` weight (x slowest, z fastest),
/// each component in −1..=1.
pub fn kernel_offsets() -> impl Iterator<Item = [i64; 3]> {
    (0..27).map(|k| [k / 9 - 1, (k / 3) % 3 - 1, k % 3 - 1])
}

/// `[27, M]` int64: entry `[k, i]` is the row of the voxel at `coords[i] + offset k` (see
/// [`kernel_offsets`]), or −1 when that voxel is not active.
pub fn neighbour_map(coords: &Tensor) -> Result<Tensor, tch::TchError> {
    let m = coords.size()[0];
    let device = coords.device();
    if m == 0 {
        return Tensor::f_empty([27, 0], (Kind::Int64, device));
    }
    // Keys of the coordinates shifted by one, in a grid one larger on each side, so that every
    // offset of every voxel has a distinct, non-negative key.
    let side = coords.f_max()?.f_int64_value(&[])? + 3;
    let key_of = |c: &Tensor| -> Result<Tensor, tch::TchError> {
        let c = c.f_add_scalar(1)?;
        c.f_select(1, 0)?
            .f_mul_scalar(side * side)?
            .f_add(&c.f_select(1, 1)?.f_mul_scalar(side)?)?
            .f_add(&c.f_select(1, 2)?)
    };
    let keys = key_of(coords)?;
    let (sorted, order) = keys.f_sort(0, false)?;
    let mut rows = Vec::with_capacity(27);
    for [dx, dy, dz] in kernel_offsets() {
        let query = keys.f_add_scalar(dx * side * side + dy * side + dz)?;
        let at = query
            .f_searchsorted(&sorted, false, false, "left", None::<&Tensor>)?
            .f_clamp_max(m - 1)?;
        let found = sorted.f_index_select(0, &at)?.f_eq_tensor(&query)?;
        let row = order.f_index_select(0, &at)?;
        rows.push(row.f_where_scalarother(&found, -1)?);
    }
    Tensor::f_stack(&rows, 0)
}
