//! `meshcast weights list|fetch`: what the manifest lists and whether it is here; downloading.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use meshcast_server::weights::fetch::Fetched;
use meshcast_server::weights::{Manifest, fetch};

/// Model weights.
#[derive(Debug, Args)]
pub struct WeightsArgs {
    #[command(subcommand)]
    command: WeightsCommand,
    /// Folder of model weights.
    #[arg(long, env = "MESHCAST_WEIGHTS_DIR", default_value = "weights", global = true)]
    weights_dir: PathBuf,
    /// A manifest other than the bundled `weights/manifest.toml`.
    #[arg(long, global = true)]
    manifest: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum WeightsCommand {
    /// Lists the files, their licences and whether each is present.
    List,
    /// Downloads missing files (resuming partial downloads) and verifies them.
    Fetch {
        /// Only this model's files (`dinov2`, `vggt`, `trellis-vggt`, `birefnet`).
        #[arg(long)]
        only: Option<String>,
    },
}

/// Runs the subcommand.
pub fn run(args: WeightsArgs) -> Result<()> {
    let manifest = match &args.manifest {
        Some(path) => Manifest::parse(
            &std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?,
        )?,
        None => Manifest::bundled()?,
    };
    let dir = &args.weights_dir;
    match args.command {
        WeightsCommand::List => {
            for entry in &manifest.file {
                let path = entry.local_path();
                let state = if dir.join(&path).is_file() { "present" } else { "missing" };
                println!(
                    "{state:8} {:13} {} ({}; {})",
                    entry.model,
                    path.display(),
                    entry.description,
                    entry.licence
                );
            }
        }
        WeightsCommand::Fetch { only } => {
            let entries = manifest.select(only.as_deref())?;
            let mut failures = Vec::new();
            for entry in entries {
                match fetch(entry, dir) {
                    Ok(Fetched::Present) => {
                        println!("present     {}", entry.local_path().display());
                    }
                    Ok(Fetched::Downloaded { resumed_from, verified }) => println!(
                        "downloaded  {}{}{}",
                        entry.local_path().display(),
                        if resumed_from > 0 {
                            format!(" (resumed at {resumed_from} bytes)")
                        } else {
                            String::new()
                        },
                        if verified { ", SHA-256 verified" } else { ", no checksum known" }
                    ),
                    // One failing file does not stop the others.
                    Err(e) => {
                        eprintln!("error: {e}");
                        failures.push(entry.path.display().to_string());
                    }
                }
            }
            if !failures.is_empty() {
                bail!("{} file(s) not fetched: {}", failures.len(), failures.join(", "));
            }
        }
    }
    Ok(())
}
