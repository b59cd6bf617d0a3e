//! `server`: runs the rentwise shop. Configuration comes from the environment (see README).

use server::config::{Config, VARIABLES};
use std::{io::Write, process::ExitCode};
use tracing_subscriber::EnvFilter;

fn usage() -> String {
    let mut text = String::from(
        "rentwise server\n\nUSAGE:\n  server                                          serve the shop\n  server create-staff --email EMAIL [--name NAME]   make a staff account (password asked, or read from stdin)\n  server create-staff --email EMAIL --promote       make an existing account staff\n  server --help                                   this text\n\nENVIRONMENT:\n",
    );
    for (name, default, accepted) in VARIABLES {
        text.push_str(&format!("  {name:<32} default {default}; {accepted}\n"));
    }
    text
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None | Some("serve") => {}
        Some("-h" | "--help" | "help") => {
            print!("{}", usage());
            return ExitCode::SUCCESS;
        }
        Some("create-staff") => return create_staff(&args[1..]).await,
        Some(other) => {
            eprintln!("server: unknown command {other:?}\n\n{}", usage());
            return ExitCode::from(2);
        }
    }
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("rentwise: configuration error: {err}");
            return ExitCode::from(2);
        }
    };
    let logs = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(&config.log))
        .with_writer(std::io::stderr);
    if config.log_json {
        logs.json().init();
    } else {
        logs.init();
    }

    let ready = match server::prepare(&config).await {
        Ok(ready) => ready,
        Err(err) => {
            eprintln!("rentwise: cannot start: {err}");
            return ExitCode::FAILURE;
        }
    };
    let address = ready
        .listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    tracing::info!(
        startup_ms = ready.started.elapsed().as_millis() as u64,
        "ready"
    );
    // Not println!: a closed stdout (`| head`) must not take the server down.
    let _ = writeln!(std::io::stdout(), "rentwise is serving on http://{address}");
    match server::serve(ready, shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("rentwise: server error: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn create_staff(args: &[String]) -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("rentwise: configuration error: {err}");
            return ExitCode::from(2);
        }
    };
    match server::staff::create_staff(&config, args).await {
        Ok(message) => {
            let _ = writeln!(std::io::stdout(), "{message}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("server create-staff: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: draining in-flight requests");
}
