//! Device discovery: the CPU always comes first; each GPU has a name, memory and loaded kernels.

#![allow(clippy::unwrap_used)] // test helpers: a panic is the failure report

mod common;

use meshcast_engine::probe_devices;

#[test]
fn cpu_first_then_each_cuda_device() {
    let reports = probe_devices();
    assert_eq!(reports[0].device, tch::Device::Cpu);
    assert!(reports[0].name.starts_with("CPU"));
    let gpus = common::test_devices().len() - 1;
    assert_eq!(reports.len(), 1 + gpus);
    for report in &reports[1..] {
        assert!(report.memory_bytes.unwrap_or(0) > 1 << 30, "{report:?}");
        assert!(report.compute_capability.is_some(), "{report:?}");
        assert_eq!(report.kernels, Some(Ok(())), "{report:?}");
    }
}
