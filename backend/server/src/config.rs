//! Server configuration: parsed once from flags and environment, validated, then passed down.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use meshcast_engine::tch;

/// Flags of `meshcast serve`; every flag can also come from the environment variable shown.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "MESHCAST_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Folder for uploads and results (one sub-folder per job); created if missing.
    #[arg(long, env = "MESHCAST_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// SQLite database file [default: <data-dir>/meshcast.sqlite3].
    #[arg(long, env = "MESHCAST_DB")]
    pub db: Option<PathBuf>,
    /// Where jobs run: `auto` (first GPU, else CPU), `cpu`, `cuda` or `cuda:N`.
    #[arg(long, env = "MESHCAST_DEVICE", default_value = "auto", value_parser = DeviceChoice::parse)]
    pub device: DeviceChoice,
    /// Folder of the built web app (`cargo xtask web` writes it).
    #[arg(long, env = "MESHCAST_WEB_DIR", default_value = "target/web")]
    pub web_dir: PathBuf,
    /// Folder of model weights (`weights/manifest.toml` lists them).
    #[arg(long, env = "MESHCAST_WEIGHTS_DIR", default_value = "weights")]
    pub weights_dir: PathBuf,
    /// Jobs that may wait for the worker; further uploads get 429.
    #[arg(long, env = "MESHCAST_QUEUE_CAPACITY", default_value_t = 16)]
    pub queue_capacity: usize,
    /// Largest upload request, in MiB.
    #[arg(long, env = "MESHCAST_MAX_UPLOAD_MIB", default_value_t = 2048)]
    pub max_upload_mib: usize,
}

/// Which device reconstruction jobs run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceChoice {
    /// The first CUDA device if there is one, else the CPU.
    Auto,
    /// The CPU.
    Cpu,
    /// CUDA device N.
    Cuda(usize),
}

impl DeviceChoice {
    /// Parses `auto`, `cpu`, `cuda` or `cuda:N`.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(Self::Auto),
            "cpu" => Ok(Self::Cpu),
            "cuda" => Ok(Self::Cuda(0)),
            _ => s
                .strip_prefix("cuda:")
                .and_then(|n| n.parse().ok())
                .map(Self::Cuda)
                .ok_or_else(|| format!("`{s}` is not a device: use auto, cpu, cuda or cuda:N")),
        }
    }

    /// The tch device, refusing GPUs the machine does not have (the reason names how many
    /// libtorch sees).
    pub fn resolve(self) -> Result<tch::Device, String> {
        let gpus = if tch::Cuda::is_available() { tch::Cuda::device_count() as usize } else { 0 };
        match self {
            Self::Cpu => Ok(tch::Device::Cpu),
            Self::Auto if gpus > 0 => Ok(tch::Device::Cuda(0)),
            Self::Auto => Ok(tch::Device::Cpu),
            Self::Cuda(i) if i < gpus => Ok(tch::Device::Cuda(i)),
            Self::Cuda(_) => Err(format!("libtorch sees {gpus} CUDA device(s)")),
        }
    }
}

impl std::fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Auto => f.write_str("auto"),
            Self::Cpu => f.write_str("cpu"),
            Self::Cuda(i) => write!(f, "cuda:{i}"),
        }
    }
}

/// The resolved configuration the server runs with.
#[derive(Debug, Clone)]
pub struct Config {
    /// Listening address.
    pub addr: SocketAddr,
    /// Data folder.
    pub data_dir: PathBuf,
    /// SQLite file.
    pub db_path: PathBuf,
    /// Job device.
    pub device: DeviceChoice,
    /// Built web app.
    pub web_dir: PathBuf,
    /// Model weights.
    pub weights_dir: PathBuf,
    /// Jobs that may wait for the worker.
    pub queue_capacity: usize,
    /// Largest upload request in bytes.
    pub max_upload_bytes: usize,
}

impl From<ServeArgs> for Config {
    fn from(args: ServeArgs) -> Self {
        let db_path = args.db.unwrap_or_else(|| args.data_dir.join("meshcast.sqlite3"));
        Self {
            addr: args.addr,
            data_dir: args.data_dir,
            db_path,
            device: args.device,
            web_dir: args.web_dir,
            weights_dir: args.weights_dir,
            queue_capacity: args.queue_capacity.max(1),
            max_upload_bytes: args.max_upload_mib.saturating_mul(1 << 20),
        }
    }
}

impl Config {
    /// A configuration rooted in `dir` (data, database and an empty web folder), for tests.
    pub fn in_dir(dir: &std::path::Path) -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: dir.join("data"),
            db_path: dir.join("data").join("meshcast.sqlite3"),
            device: DeviceChoice::Cpu,
            web_dir: dir.join("web"),
            weights_dir: dir.join("weights"),
            queue_capacity: 16,
            max_upload_bytes: 256 << 20,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_choice_parses_every_spelling() {
        assert_eq!(DeviceChoice::parse("auto"), Ok(DeviceChoice::Auto));
        assert_eq!(DeviceChoice::parse("cpu"), Ok(DeviceChoice::Cpu));
        assert_eq!(DeviceChoice::parse("cuda"), Ok(DeviceChoice::Cuda(0)));
        assert_eq!(DeviceChoice::parse("cuda:3"), Ok(DeviceChoice::Cuda(3)));
        assert!(DeviceChoice::parse("gpu").unwrap_err().contains("`gpu`"));
        assert!(DeviceChoice::parse("cuda:x").is_err());
    }
}
