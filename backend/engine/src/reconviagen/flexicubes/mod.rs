//! FlexiCubes surface extraction (Shen et al., SIGGRAPH 2023) as TRELLIS's
//! `SparseFeatures2Mesh` runs it on the mesh decoder's head: per-voxel corner values are
//! averaged onto the grid's vertices (SDF, deformation, colour), and the FlexiCubes dual
//! vertex of every cube the surface crosses is placed from its weighted edge crossings, then
//! quads around crossed edges are split into triangles by the cubes' γ weights.
//!
//! The reference fills dense `(res + 1)³` grids (3.2 GB of float32 at the released 256³); this
//! port touches only the cubes next to a vertex inside the surface — the only ones that can
//! be crossed — while indexing them by their dense ids, so that every ordering (cubes, edges,
//! dual vertices, faces) is the reference's and results compare row by row.

pub mod tables;

use tch::{Kind, Tensor};

use self::tables::{EDGES, corner, tables};
use super::sparse::SparseTensor;
use super::trace::Trace;

/// A triangle mesh with per-vertex attributes.
#[derive(Debug)]
pub struct Mesh {
    /// `[V, 3]` float32, in [−0.5, 0.5]³.
    pub vertices: Tensor,
    /// `[F, 3]` int64, counter-clockwise seen from outside.
    pub faces: Tensor,
    /// `[V, 6]` float32 in (0, 1): base colour, then 3 channels the reference names a normal
    /// map.
    pub colors: Tensor,
}

/// Layout of the head's 101 channels.
const SDF: (i64, i64) = (0, 8);
const DEFORM: (i64, i64) = (8, 24);
const WEIGHTS: (i64, i64) = (32, 21);
const COLOR: (i64, i64) = (53, 48);

/// The mesh of `head` (the mesh decoder's output on voxels of a `res`³ grid). Records `fc.v_pos`
/// (`[V, 3]` int32 grid vertices) and `fc.v_attrs` (`[V, 10]`: SDF with its bias,
/// deformation, colour logits).
pub fn extract(head: &SparseTensor, res: i64, trace: &mut Trace) -> Result<Mesh, tch::TchError> {
    let device = head.feats().device();
    let coords = head.layout().coords();
    let n = coords.size()[0];
    let feats = head.feats().f_to_kind(Kind::Float)?;
    let weights = feats.f_narrow(1, WEIGHTS.0, WEIGHTS.1)?;
    // In a block so that the per-corner copies (gigabytes at 256³) are freed once averaged.
    let (vertex_ids, v_attrs) = {
        let part = |(start, len): (i64, i64), width: i64| {
            feats.f_narrow(1, start, len)?.f_reshape([n, -1, width])
        };
        let sdf = part(SDF, 1)?.f_add_scalar(-1.0 / res as f64)?;
        let corner_attrs = Tensor::f_cat(&[sdf, part(DEFORM, 3)?, part(COLOR, 6)?], -1)?;
        // Grid vertices of the voxels (`sparse_cube2verts`): unique in (x, y, z) order, each
        // the mean of the corner values that land on it. Dense ids sort as the points do
        // row-major, so a 1-D unique (far cheaper than over rows) gives `torch.unique(dim=0)`'s
        // order.
        let corners = corner_offsets(device)?;
        let all = coords.f_unsqueeze(1)?.f_add(&corners.f_unsqueeze(0)?)?.f_reshape([-1, 3])?;
        let (vertex_ids, inverse, counts) =
            Tensor::f_internal_unique2(&dense_id(&all, res + 1)?, true, true, true)?;
        drop(all);
        let width = corner_attrs.size()[2];
        let sums = Tensor::f_zeros([vertex_ids.size()[0], width], (Kind::Float, device))?
            .f_index_add(0, &inverse, &corner_attrs.f_reshape([-1, width])?)?;
        let v_attrs = sums.f_div(&counts.f_unsqueeze(1)?.f_to_kind(Kind::Float)?)?;
        trace.record("fc.v_pos", &point_of(&vertex_ids, res + 1)?.f_to_kind(Kind::Int)?);
        trace.record("fc.v_attrs", &v_attrs);
        (vertex_ids, v_attrs)
    };

    let grid = Grid { res, vertex_ids, v_attrs };
    let cubes = surface_cubes(&grid)?;
    if cubes.ids.size()[0] == 0 {
        return Ok(Mesh {
            vertices: Tensor::f_zeros([0, 3], (Kind::Float, device))?,
            faces: Tensor::f_zeros([0, 3], (Kind::Int64, device))?,
            colors: Tensor::f_zeros([0, 6], (Kind::Float, device))?,
        });
    }
    let weights = cube_weights(&cubes, coords, &weights, res)?;
    let cases = case_ids(&cubes, res)?;
    let edges = surface_edges(&grid, &cubes)?;
    let duals = dual_vertices(&grid, &edges, &cases, &weights)?;
    let faces = triangulate(&grid, &edges, &duals)?;
    Ok(Mesh { vertices: duals.positions, faces, colors: duals.colors })
}

/// The 8 corner offsets `[8, 3]` int64 in corner order.
fn corner_offsets(device: tch::Device) -> Result<Tensor, tch::TchError> {
    let values: Vec<i64> = (0..8).flat_map(corner).collect();
    Tensor::from_slice(&values).f_reshape([8, 3])?.f_to_device(device)
}

/// Dense id `(x·side + y)·side + z` of integer points `[..., 3]`.
fn dense_id(points: &Tensor, side: i64) -> Result<Tensor, tch::TchError> {
    let axis = |d: i64| points.f_select(-1, d);
    axis(0)?.f_mul_scalar(side)?.f_add(&axis(1)?)?.f_mul_scalar(side)?.f_add(&axis(2)?)
}

/// The point `[..., 3]` of dense ids.
fn point_of(ids: &Tensor, side: i64) -> Result<Tensor, tch::TchError> {
    Tensor::f_stack(
        &[
            ids.f_div_scalar_mode(side * side, "floor")?,
            ids.f_div_scalar_mode(side, "floor")?.f_remainder(side)?,
            ids.f_remainder(side)?,
        ],
        -1,
    )
}

/// Rows of `keys` in the sorted `table`, and whether each is there.
fn lookup(table: &Tensor, keys: &Tensor) -> Result<(Tensor, Tensor), tch::TchError> {
    let shape = keys.size();
    let flat = keys.f_reshape([-1])?;
    let last = (table.size()[0] - 1).max(0);
    let at =
        flat.f_searchsorted(table, false, false, "left", None::<&Tensor>)?.f_clamp_max(last)?;
    let found = if table.size()[0] == 0 {
        flat.f_zeros_like()?.f_to_kind(Kind::Bool)?
    } else {
        table.f_index_select(0, &at)?.f_eq_tensor(&flat)?
    };
    Ok((at.f_reshape(shape.as_slice())?, found.f_reshape(shape.as_slice())?))
}

/// The grid vertices that carry values; every other vertex is outside (SDF 1), undeformed and
/// of colour logit 0, as the reference's dense initialisation.
struct Grid {
    res: i64,
    /// Dense ids of the vertices with values, ascending.
    vertex_ids: Tensor,
    /// `[V, 10]`: SDF, deformation, colour logits.
    v_attrs: Tensor,
}

impl Grid {
    /// SDF `[...]`, position `[..., 3]` and colour `[..., 6]` (after the sigmoid) of the grid
    /// vertices `ids`.
    fn vertices(&self, ids: &Tensor) -> Result<(Tensor, Tensor, Tensor), tch::TchError> {
        let shape = ids.size();
        let (at, found) = lookup(&self.vertex_ids, ids)?;
        let width = self.v_attrs.size()[1];
        let attrs = self
            .v_attrs
            .f_index_select(0, &at.f_reshape([-1])?)?
            .f_reshape([shape.clone(), vec![width]].concat().as_slice())?;
        let attrs = attrs.f_mul(&found.f_unsqueeze(-1)?.f_to_kind(Kind::Float)?)?;
        let missing = found.f_logical_not()?.f_to_kind(Kind::Float)?;
        let sdf = attrs.f_select(-1, 0)?.f_add(&missing)?;
        let r = self.res as f64;
        let base = point_of(ids, self.res + 1)?
            .f_to_kind(Kind::Float)?
            .f_div_scalar(r)?
            .f_sub_scalar(0.5)?;
        let deform = attrs.f_narrow(-1, 1, 3)?.f_tanh()?.f_mul_scalar((1.0 - 1e-8) / (2.0 * r))?;
        let colors = attrs.f_narrow(-1, 4, width - 4)?.f_sigmoid()?;
        Ok((sdf, base.f_add(&deform)?, colors))
    }
}

/// The cubes the surface crosses, in dense order.
struct Cubes {
    /// Dense cube ids `[S]`, ascending.
    ids: Tensor,
    /// Grid vertex ids of each cube's corners `[S, 8]`.
    corners: Tensor,
    /// Corner inside the surface `[S, 8]`.
    inside: Tensor,
}

/// Cubes with corners on both sides of the surface: among the 8 cubes around each inside
/// vertex (only vertices with values can be inside).
fn surface_cubes(grid: &Grid) -> Result<Cubes, tch::TchError> {
    let device = grid.vertex_ids.device();
    let res = grid.res;
    let inside = grid.v_attrs.f_select(1, 0)?.f_lt(0.0)?;
    let points = point_of(&grid.vertex_ids.f_masked_select(&inside)?, res + 1)?;
    let offsets = corner_offsets(device)?;
    let candidates = points.f_unsqueeze(1)?.f_sub(&offsets.f_unsqueeze(0)?)?.f_reshape([-1, 3])?;
    let valid = candidates.f_ge(0)?.f_logical_and(&candidates.f_lt(res)?)?.f_all_dim(1, false)?;
    let ids = dense_id(&candidates.f_index_select(0, &valid.f_nonzero()?.f_squeeze_dim(1)?)?, res)?;
    let (ids, _, _) = Tensor::f_internal_unique2(&ids, true, false, false)?;
    let corner_ids =
        dense_id(&point_of(&ids, res)?.f_unsqueeze(1)?.f_add(&offsets.f_unsqueeze(0)?)?, res + 1)?;
    let (sdf, _, _) = grid.vertices(&corner_ids)?;
    let inside = sdf.f_lt(0.0)?;
    let count = inside.f_sum_dim_intlist([1i64].as_slice(), false, Kind::Int64)?;
    let crossed = count.f_gt(0)?.f_logical_and(&count.f_lt(8)?)?.f_nonzero()?.f_squeeze_dim(1)?;
    Ok(Cubes {
        ids: ids.f_index_select(0, &crossed)?,
        corners: corner_ids.f_index_select(0, &crossed)?,
        inside: inside.f_index_select(0, &crossed)?,
    })
}

/// FlexiCubes' weights of the crossed cubes, normalized: β per edge `[S, 12]`, α per corner
/// `[S, 8]`, γ per cube `[S]` (a cube without a voxel has raw weights 0).
struct Weights {
    beta: Tensor,
    alpha: Tensor,
    gamma: Tensor,
}

fn cube_weights(
    cubes: &Cubes,
    coords: &Tensor,
    raw: &Tensor,
    res: i64,
) -> Result<Weights, tch::TchError> {
    let (voxel_ids, order) = dense_id(coords, res)?.f_sort(0, false)?;
    let (at, found) = lookup(&voxel_ids, &cubes.ids)?;
    let rows = order.f_index_select(0, &at)?;
    let w = raw.f_index_select(0, &rows)?.f_mul(&found.f_unsqueeze(1)?.f_to_kind(Kind::Float)?)?;
    let scale = 0.99;
    Ok(Weights {
        beta: w.f_narrow(1, 0, 12)?.f_tanh()?.f_mul_scalar(scale)?.f_add_scalar(1.0)?,
        alpha: w.f_narrow(1, 12, 8)?.f_tanh()?.f_mul_scalar(scale)?.f_add_scalar(1.0)?,
        gamma: w
            .f_select(1, 20)?
            .f_sigmoid()?
            .f_mul_scalar(scale)?
            .f_add_scalar((1.0 - scale) / 2.0)?,
    })
}

/// Each crossed cube's configuration, with the single-ambiguous-face configurations inverted
/// where the neighbour across that face is one too (`_get_case_id`).
fn case_ids(cubes: &Cubes, res: i64) -> Result<Tensor, tch::TchError> {
    let device = cubes.ids.device();
    let bits = Tensor::from_slice(&[1i64, 2, 4, 8, 16, 32, 64, 128]).f_to_device(device)?;
    let cases = cubes.inside.f_to_kind(Kind::Int64)?.f_mul(&bits)?.f_sum_dim_intlist(
        [1i64].as_slice(),
        false,
        Kind::Int64,
    )?;
    let check: Vec<i64> = tables().check.iter().flatten().copied().collect();
    let check = Tensor::from_slice(&check).f_reshape([256, 5])?.f_to_device(device)?;
    let config = check.f_index_select(0, &cases)?;
    let flagged = config.f_select(1, 0)?.f_eq(1)?;
    let rows = flagged.f_nonzero()?.f_squeeze_dim(1)?;
    if rows.size()[0] == 0 {
        return Ok(cases);
    }
    let flagged_ids = cubes.ids.f_index_select(0, &rows)?;
    let config = config.f_index_select(0, &rows)?;
    let neighbour = point_of(&flagged_ids, res)?.f_add(&config.f_narrow(1, 1, 3)?)?;
    let within = neighbour.f_ge(0)?.f_logical_and(&neighbour.f_lt(res)?)?.f_all_dim(1, false)?;
    let (_, also) = lookup(&flagged_ids, &dense_id(&neighbour.f_clamp(0, res - 1)?, res)?)?;
    let invert = within.f_logical_and(&also)?;
    let targets = rows.f_masked_select(&invert)?;
    let inverted = config.f_select(1, 4)?.f_masked_select(&invert)?;
    cases.f_index_put(&[Some(targets)], &inverted, false)
}

/// The grid edges of the crossed cubes, unique, and which cross the surface.
struct Edges {
    /// Crossed edges as grid vertex id pairs `[E, 2]`, in ascending order of the pair.
    crossed: Tensor,
    /// Per cube edge `[S·12]`: its row in `crossed`, or −1.
    index: Tensor,
    /// Per cube edge `[S·12]`: how many crossed cubes share it.
    shared: Tensor,
    /// Per cube edge `[S·12]`: it crosses the surface.
    is_crossed: Tensor,
}

fn surface_edges(grid: &Grid, cubes: &Cubes) -> Result<Edges, tch::TchError> {
    let device = cubes.ids.device();
    let (a, b): (Vec<i64>, Vec<i64>) = EDGES.iter().map(|&(a, b)| (a as i64, b as i64)).unzip();
    let pick =
        |c: Vec<i64>| cubes.corners.f_index_select(1, &Tensor::from_slice(&c).f_to_device(device)?);
    let side = (grid.res + 1).pow(3);
    let keys = pick(a)?.f_mul_scalar(side)?.f_add(&pick(b)?)?.f_reshape([-1])?;
    let (unique, inverse, counts) = Tensor::f_internal_unique2(&keys, true, true, true)?;
    let ends =
        Tensor::f_stack(&[unique.f_div_scalar_mode(side, "floor")?, unique.f_remainder(side)?], 1)?;
    let (sdf, _, _) = grid.vertices(&ends)?;
    let inside = sdf.f_lt(0.0)?;
    let crossed = inside.f_select(1, 0)?.f_ne_tensor(&inside.f_select(1, 1)?)?;
    let rows = crossed.f_nonzero()?.f_squeeze_dim(1)?;
    let mapping = Tensor::f_full([unique.size()[0]], -1, (Kind::Int64, device))?.f_index_put(
        &[Some(rows.shallow_clone())],
        &Tensor::f_arange(rows.size()[0], (Kind::Int64, device))?,
        false,
    )?;
    Ok(Edges {
        crossed: ends.f_index_select(0, &rows)?,
        index: mapping.f_index_select(0, &inverse)?,
        shared: counts.f_index_select(0, &inverse)?,
        is_crossed: crossed.f_index_select(0, &inverse)?,
    })
}

/// The dual vertices: positions, colours, each one's γ, and per cube edge the dual vertex it
/// belongs to.
struct Duals {
    positions: Tensor,
    colors: Tensor,
    gamma: Tensor,
    of_cube_edge: Tensor,
}

fn dual_vertices(
    grid: &Grid,
    edges: &Edges,
    cases: &Tensor,
    weights: &Weights,
) -> Result<Duals, tch::TchError> {
    let device = cases.device();
    let t = tables();
    let dmc: Vec<i64> = t.dmc.iter().flatten().flatten().copied().collect();
    let dmc = Tensor::from_slice(&dmc).f_reshape([256, 4, 7])?.f_to_device(device)?;
    let num_vd = Tensor::from_slice(&t.num_vd).f_to_device(device)?.f_index_select(0, cases)?;
    let (mut edge_of, mut vd_of, mut cube_of, mut gammas) = (vec![], vec![], vec![], vec![]);
    let mut total = 0;
    for num in 1..=4i64 {
        let group = num_vd.f_eq(num)?.f_nonzero()?.f_squeeze_dim(1)?;
        let g = group.size()[0];
        if g == 0 {
            continue;
        }
        let table = dmc
            .f_index_select(0, &cases.f_index_select(0, &group)?)?
            .f_narrow(1, 0, num)?
            .f_reshape([g, num * 7])?;
        let vd = Tensor::f_arange(g * num, (Kind::Int64, device))?
            .f_add_scalar(total)?
            .f_unsqueeze(1)?
            .f_repeat([1, 7])?
            .f_reshape([g, num * 7])?;
        let cube = group.f_unsqueeze(1)?.f_repeat([1, num * 7])?;
        let used = table.f_ne(-1)?;
        edge_of.push(table.f_masked_select(&used)?);
        vd_of.push(vd.f_masked_select(&used)?);
        cube_of.push(cube.f_masked_select(&used)?);
        gammas.push(weights.gamma.f_index_select(0, &group)?.f_repeat_interleave_self_int(
            num,
            Some(0),
            None,
        )?);
        total += g * num;
    }
    let edge_of = Tensor::f_cat(&edge_of, 0)?;
    let vd_of = Tensor::f_cat(&vd_of, 0)?;
    let cube_of = Tensor::f_cat(&cube_of, 0)?;
    let slot = cube_of.f_mul_scalar(12)?.f_add(&edge_of)?;
    let crossed = edges.index.f_index_select(0, &slot)?;

    // Per crossed edge: its end points' SDF, positions and colours.
    let (sdf, pos, colors) = grid.vertices(&edges.crossed)?;
    let s = sdf.f_index_select(0, &crossed)?;
    let x = pos.f_index_select(0, &crossed)?;
    let c = colors.f_index_select(0, &crossed)?;
    let ends: Vec<i64> = EDGES.iter().flat_map(|&(a, b)| [a as i64, b as i64]).collect();
    let ends = Tensor::from_slice(&ends)
        .f_reshape([12, 2])?
        .f_to_device(device)?
        .f_index_select(0, &edge_of)?;
    let alpha = weights.alpha.f_index_select(0, &cube_of)?.f_gather(1, &ends, false)?;
    let beta = weights.beta.f_reshape([-1])?.f_index_select(0, &slot)?.f_unsqueeze(1)?;
    // `_linear_interp`: the crossing of each edge weighted by (s₁α₁, −s₀α₀).
    let sa = s.f_mul(&alpha)?;
    let w =
        Tensor::f_stack(&[sa.f_select(1, 1)?, sa.f_select(1, 0)?.f_neg()?], 1)?.f_unsqueeze(2)?;
    let interp = |values: &Tensor| -> Result<Tensor, tch::TchError> {
        values
            .f_mul(&w)?
            .f_sum_dim_intlist([1i64].as_slice(), false, Kind::Float)?
            .f_div(&w.f_sum_dim_intlist([1i64].as_slice(), false, Kind::Float)?)
    };
    let beta_sum =
        Tensor::f_zeros([total, 1], (Kind::Float, device))?.f_index_add(0, &vd_of, &beta)?;
    let place = |values: &Tensor| -> Result<Tensor, tch::TchError> {
        let width = values.size()[2];
        Tensor::f_zeros([total, width], (Kind::Float, device))?
            .f_index_add(0, &vd_of, &interp(values)?.f_mul(&beta)?)?
            .f_div(&beta_sum)
    };
    let of_cube_edge = Tensor::f_zeros([cases.size()[0] * 12], (Kind::Int64, device))?
        .f_scatter(0, &slot, &vd_of)?;
    Ok(Duals {
        positions: place(&x)?,
        colors: place(&c)?,
        gamma: Tensor::f_cat(&gammas, 0)?,
        of_cube_edge,
    })
}

/// Quads of the dual vertices around each crossed edge shared by 4 crossed cubes, oriented by
/// the edge's sign and split along the diagonal with the larger product of γ.
fn triangulate(grid: &Grid, edges: &Edges, duals: &Duals) -> Result<Tensor, tch::TchError> {
    let device = duals.gamma.device();
    let full = edges.shared.f_eq(4)?.f_logical_and(&edges.is_crossed)?;
    let group = edges.index.f_masked_select(&full)?;
    let vd = duals.of_cube_edge.f_masked_select(&full)?;
    let (sorted, order) = group.f_sort_stable(true, 0, false)?;
    let quads = vd.f_index_select(0, &order)?.f_reshape([-1, 4])?;
    let first = sorted.f_reshape([-1, 4])?.f_select(1, 0)?;
    let (sdf, _, _) = grid.vertices(&edges.crossed.f_index_select(0, &first)?)?;
    let flip = sdf.f_select(1, 0)?.f_gt(0.0)?;
    let rows = |mask: &Tensor| mask.f_nonzero()?.f_squeeze_dim(1);
    let cols = |c: [i64; 4]| Tensor::from_slice(&c).f_to_device(device);
    let quads = Tensor::f_cat(
        &[
            quads.f_index_select(0, &rows(&flip)?)?.f_index_select(1, &cols([0, 1, 3, 2])?)?,
            quads
                .f_index_select(0, &rows(&flip.f_logical_not()?)?)?
                .f_index_select(1, &cols([2, 3, 1, 0])?)?,
        ],
        0,
    )?;
    let g = duals.gamma.f_index_select(0, &quads.f_reshape([-1])?)?.f_reshape([-1, 4])?;
    let g02 = g.f_select(1, 0)?.f_mul(&g.f_select(1, 2)?)?;
    let g13 = g.f_select(1, 1)?.f_mul(&g.f_select(1, 3)?)?;
    let split = |c: [i64; 6]| quads.f_index_select(1, &Tensor::from_slice(&c).f_to_device(device)?);
    let faces = split([0, 1, 2, 0, 2, 3])?
        .f_where_self(&g02.f_gt_tensor(&g13)?.f_unsqueeze(1)?, &split([0, 1, 3, 3, 1, 2])?)?;
    faces.f_reshape([-1, 3])
}
