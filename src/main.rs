#![forbid(unsafe_code)]

use clap::Parser;
use voke_invitations::{
    cli::{Cli, Command, run},
    config::{Config, ConfigError},
    telemetry,
};

/// mimalloc instead of glibc's allocator: under load the service spent a quarter of its CPU
/// in glibc `malloc`/`free` (perf, list benchmark), and glibc's per-thread arenas keep freed
/// memory resident.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve);
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    telemetry::init(&config.log_filter, config.log_format);
    match run(command, config).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            // A bad configuration found late (at serve) exits like one found early.
            if e.downcast_ref::<ConfigError>().is_some() {
                std::process::ExitCode::from(2)
            } else {
                std::process::ExitCode::FAILURE
            }
        }
    }
}
