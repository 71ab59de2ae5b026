//! Shared by the engine's integration tests: the devices every test body runs on, and Khronos' glTF validator.

pub mod khronos;

use tch::Device;

#[allow(dead_code)] // not every test binary runs on devices
/// The CPU plus every CUDA device. With `MESHCAST_REQUIRE_CUDA=1` (set on the GPU machine) a
/// missing GPU fails the test instead of quietly testing the CPU alone.
pub fn test_devices() -> Vec<Device> {
    let mut devices = vec![Device::Cpu];
    if tch::Cuda::is_available() {
        devices.extend((0..tch::Cuda::device_count() as usize).map(Device::Cuda));
    } else if std::env::var_os("MESHCAST_REQUIRE_CUDA").is_some_and(|v| v == "1") {
        panic!("MESHCAST_REQUIRE_CUDA=1 but libtorch sees no CUDA device");
    }
    devices
}
