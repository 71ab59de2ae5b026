//! The sparse-tensor layer ops against independent references: submanifold convolution against
//! a dense float64 `conv3d` evaluated at the active voxels, the neighbour map against a hash
//! map, pooling and subdivision against hand-worked cases, windowed attention against one dense
//! attention per window. Same bodies on the CPU and every CUDA device.

#![allow(clippy::unwrap_used, clippy::print_stdout)] // test helpers: a panic is the failure report

mod common;

use std::collections::HashMap;

use meshcast_engine::reconviagen::Precision;
use meshcast_engine::reconviagen::sparse::conv::SubmanifoldConv;
use meshcast_engine::reconviagen::sparse::neighbours::{kernel_offsets, neighbour_map};
use meshcast_engine::reconviagen::sparse::resample::{downsample, subdivide, upsample};
use meshcast_engine::reconviagen::sparse::window::Partition;
use meshcast_engine::reconviagen::sparse::{Layout, SparseTensor};
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

/// `count` distinct random voxels in a `side`³ grid, `[M, 3]` int64 on the CPU.
fn random_voxels(side: i64, count: i64, seed: i64) -> Tensor {
    tch::manual_seed(seed);
    let cells = Tensor::randperm(side.pow(3), (Kind::Int64, Device::Cpu)).narrow(0, 0, count);
    let axis = |div: i64| cells.divide_scalar_mode(div, "floor").remainder(side);
    Tensor::stack(&[axis(side * side), axis(side), axis(1)], 1)
}

fn max_abs(a: &Tensor, b: &Tensor) -> f64 {
    let cpu = |t: &Tensor| t.to_device(Device::Cpu).to_kind(Kind::Double);
    (cpu(a) - cpu(b)).abs().max().double_value(&[])
}

#[test]
fn neighbour_map_finds_exactly_the_active_neighbours() {
    let coords = random_voxels(6, 80, 1);
    let rows: HashMap<[i64; 3], i64> =
        (0..80).map(|i| ([0, 1, 2].map(|d| coords.int64_value(&[i, d])), i)).collect();
    for device in common::test_devices() {
        let map = neighbour_map(&coords.to_device(device)).unwrap().to_device(Device::Cpu);
        assert_eq!(map.size(), [27, 80]);
        for (k, [dx, dy, dz]) in kernel_offsets().enumerate() {
            for i in 0..80 {
                let c = [0, 1, 2].map(|d| coords.int64_value(&[i, d]));
                let want = rows.get(&[c[0] + dx, c[1] + dy, c[2] + dz]).copied().unwrap_or(-1);
                assert_eq!(
                    map.int64_value(&[k as i64, i]),
                    want,
                    "{device:?} voxel {i} offset {k}"
                );
            }
        }
    }
}

/// A convolution with random weights, and the same weights as a dense `[out, in, k, k, k]`.
fn conv_with_random_weights(
    device: Device,
    input: i64,
    output: i64,
    kernel: i64,
) -> (VarStore, SubmanifoldConv, Tensor) {
    let vs = VarStore::new(device);
    let conv = SubmanifoldConv::new(&(vs.root() / "c"), input, output, kernel).unwrap();
    tch::manual_seed(7);
    let weight =
        Tensor::randn([output, kernel, kernel, kernel, input], (Kind::Double, Device::Cpu));
    let bias = Tensor::randn([output], (Kind::Double, Device::Cpu));
    tch::no_grad(|| {
        let mut vars = vs.variables();
        vars.get_mut("c.conv.weight").unwrap().copy_(&weight);
        vars.get_mut("c.conv.bias").unwrap().copy_(&bias);
    });
    // spconv (and so the port) reads a 1×1×1 kernel's memory as [in, out].
    let dense = if kernel == 1 {
        weight.reshape([input, output]).transpose(0, 1).reshape([output, input, 1, 1, 1])
    } else {
        weight.permute([0, 4, 1, 2, 3])
    };
    (vs, conv, Tensor::cat(&[dense.flatten(0, -1), bias], 0))
}

#[test]
fn submanifold_convolution_equals_a_dense_convolution_at_the_active_voxels() {
    let side = 9;
    let coords = random_voxels(side, 120, 2);
    tch::manual_seed(3);
    let feats = Tensor::randn([120, 4], (Kind::Double, Device::Cpu));
    // Dense reference in float64: inactive voxels are zero, so a padded correlation at the
    // active voxels is the submanifold convolution.
    let grid = Tensor::zeros([1, 4, side, side, side], (Kind::Double, Device::Cpu));
    let index = |t: &Tensor, d: i64| Some(t.select(1, d));
    let grid = grid.index_put(
        &[
            Some(Tensor::zeros([120], (Kind::Int64, Device::Cpu))),
            None,
            index(&coords, 0),
            index(&coords, 1),
            index(&coords, 2),
        ],
        &feats,
        false,
    );
    for kernel in [3, 1] {
        for device in common::test_devices() {
            let (_vs, conv, packed) = conv_with_random_weights(device, 4, 5, kernel);
            let n = 5 * 4 * kernel.pow(3);
            let weight = packed.narrow(0, 0, n).reshape([5, 4, kernel, kernel, kernel]);
            let bias = packed.narrow(0, n, 5);
            let dense = grid.conv3d(&weight, Some(&bias), [1, 1, 1], [kernel / 2; 3], [1, 1, 1], 1);
            let want = dense
                .squeeze_dim(0)
                .index(&[None, index(&coords, 0), index(&coords, 1), index(&coords, 2)])
                .transpose(0, 1);
            let x = SparseTensor::new(
                Layout::new(&coords.to_device(device)).unwrap(),
                feats.to_kind(Kind::Float).to_device(device),
            )
            .unwrap();
            let got = tch::no_grad(|| conv.forward(&x, Precision::Float32)).unwrap();
            let err = max_abs(got.feats(), &want);
            let scale = want.abs().max().double_value(&[]);
            println!("{device:?} kernel {kernel}: max abs error {err:.2e} (scale {scale:.1})");
            assert!(err <= 1e-5 * scale, "{device:?} kernel {kernel}: {err}");
        }
    }
}

#[test]
fn pooling_averages_with_the_references_extra_zero_and_upsampling_copies_back() {
    // Three voxels in cell (0, 0, 0), one in cell (1, 0, 2).
    let coords = Tensor::from_slice(&[0i64, 0, 0, 1, 1, 1, 0, 1, 0, 3, 1, 4]).reshape([4, 3]);
    let feats = Tensor::from_slice(&[3.0f32, 6.0, 9.0, 8.0]).reshape([4, 1]);
    for device in common::test_devices() {
        let x = SparseTensor::new(
            Layout::new(&coords.to_device(device)).unwrap(),
            feats.to_device(device),
        )
        .unwrap();
        let (coarse, pooled) = downsample(&x).unwrap();
        let c = coarse.layout().coords().to_device(Device::Cpu);
        assert_eq!(Vec::<i64>::try_from(c.reshape([-1])).unwrap(), [0, 0, 0, 1, 0, 2]);
        // (3 + 6 + 9) / (3 + 1) and 8 / (1 + 1).
        let f = Vec::<f32>::try_from(coarse.feats().to_device(Device::Cpu).reshape([-1])).unwrap();
        assert_eq!(f, [4.5, 4.0]);
        let back = upsample(&coarse, &pooled).unwrap();
        let f = Vec::<f32>::try_from(back.feats().to_device(Device::Cpu).reshape([-1])).unwrap();
        assert_eq!(f, [4.5, 4.5, 4.5, 4.0]);
        assert!(upsample(&x, &pooled).is_err(), "a tensor of other voxels is refused");
        let children = subdivide(&coarse).unwrap();
        let c = children.layout().coords().to_device(Device::Cpu);
        assert_eq!(c.size(), [16, 3]);
        assert_eq!(Vec::<i64>::try_from(c.get(9)).unwrap(), [2, 0, 5]);
        assert_eq!(Vec::<i64>::try_from(c.get(6)).unwrap(), [1, 1, 0]);
        let f =
            Vec::<f32>::try_from(children.feats().to_device(Device::Cpu).reshape([-1])).unwrap();
        assert_eq!(&f[7..9], [4.5, 4.0]);
    }
}

#[test]
fn windowed_attention_is_dense_attention_inside_each_window() {
    let coords = random_voxels(13, 300, 4);
    tch::manual_seed(5);
    let qkv = Tensor::randn([3, 300, 2, 8], (Kind::Double, Device::Cpu));
    for (size, shift) in [(4, 0), (4, 2), (8, 4)] {
        // Reference: voxels grouped by their shifted cube, one dense attention per group.
        let mut groups: HashMap<[i64; 3], Vec<i64>> = HashMap::new();
        for i in 0..300 {
            let cube = [0, 1, 2].map(|d| (coords.int64_value(&[i, d]) + shift) / size);
            groups.entry(cube).or_default().push(i);
        }
        let mut want = Tensor::zeros([300, 2, 8], (Kind::Double, Device::Cpu));
        for rows in groups.values() {
            let rows = Tensor::from_slice(rows);
            let part = |t: Tensor| t.index_select(0, &rows).transpose(0, 1).unsqueeze(0);
            let out = Tensor::scaled_dot_product_attention(
                &part(qkv.get(0)),
                &part(qkv.get(1)),
                &part(qkv.get(2)),
                None::<&Tensor>,
                0.0,
                false,
                None,
                false,
            );
            let _ = want.index_copy_(0, &rows, &out.squeeze_dim(0).transpose(0, 1));
        }
        for device in common::test_devices() {
            let partition = Partition::new(&coords.to_device(device), size, shift).unwrap();
            assert_eq!(partition.windows(), groups.len() as i64);
            let on = |t: Tensor| t.to_kind(Kind::Float).to_device(device);
            let got = tch::no_grad(|| {
                partition.attend(
                    &on(qkv.get(0)),
                    &on(qkv.get(1)),
                    &on(qkv.get(2)),
                    Precision::Float32,
                )
            })
            .unwrap();
            let err = max_abs(&got, &want);
            println!(
                "{device:?} window {size} shift {shift}: {} windows, max abs error {err:.2e}",
                groups.len()
            );
            assert!(err < 1e-5, "{device:?} window {size} shift {shift}: {err}");
        }
    }
}
