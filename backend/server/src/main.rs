//! `meshcast`: the server and the command-line reconstruction entry.

mod cli;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use meshcast_server::config::ServeArgs;
use tracing_subscriber::EnvFilter;

/// Photos of an object in, a textured 3D mesh out.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log format.
    #[arg(long, env = "MESHCAST_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the web app and the HTTP/WebSocket API.
    Serve(ServeArgs),
    /// Reconstruct a mesh from a posed dataset folder into an output folder.
    Reconstruct(cli::reconstruct::ReconstructArgs),
    /// List or download model weights (`weights/manifest.toml`).
    Weights(cli::weights::WeightsArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match cli.command {
        Command::Serve(args) => runtime
            .block_on(meshcast_server::serve(args.into()))
            .map(|()| ExitCode::SUCCESS)
            .map_err(anyhow::Error::from),
        Command::Weights(args) => cli::weights::run(args).map(|()| ExitCode::SUCCESS),
        Command::Reconstruct(args) => {
            runtime.block_on(cli::reconstruct::run(args)).map(|outcome| match outcome {
                cli::reconstruct::Outcome::Finished => ExitCode::SUCCESS,
                // 128 + SIGINT, as shells report an interrupted command.
                cli::reconstruct::Outcome::Interrupted => ExitCode::from(130),
            })
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr (`RUST_LOG` filters, default `info`).
fn init_tracing(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
