//! The `switchboard` binary: command line, telemetry, wiring and graceful shutdown. Every
//! piece of logic lives in a library crate; this file only dispatches.

mod bootstrap;
mod cli;
mod data_dir;
mod effects;
mod listeners;
mod relay;
mod serve;
mod shutdown;
mod telemetry;
mod tls;
mod wiring;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command, ConfigCommand};
use crate::serve::StartError;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => report(serve::run(&args)),
        Command::Config(ConfigCommand::Default) => {
            print!("{}", switchboard_config::default_toml());
            ExitCode::SUCCESS
        }
        Command::Config(ConfigCommand::Check(args)) => match serve::load_config(&args) {
            Ok(config) => {
                println!("configuration OK (data dir {})", config.data_dir.display());
                ExitCode::SUCCESS
            }
            Err(e) => report(Err(e)),
        },
    }
}

fn report(result: Result<(), StartError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(StartError::Config(errors)) => {
            eprintln!("error: invalid configuration:\n{errors}");
            ExitCode::from(2)
        }
        Err(StartError::Other(e)) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
