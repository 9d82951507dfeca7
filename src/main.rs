//! `p2p-market`: the server.

use clap::{Parser, Subcommand};

/// The service allocates many small, short-lived values per request; mimalloc serves them with
/// far less contention and fragmentation than the system allocator (measured in the README).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use p2p_market::clock::Clock;
use p2p_market::config::Config;
use p2p_market::market::{demo, new_token};
use p2p_market::{Application, StartError, telemetry};

#[derive(Parser)]
#[command(
    name = "p2p-market",
    version,
    about = "A peer-to-peer RUB/USDT market with escrow"
)]
#[command(args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve(ServeArgs),
}

#[derive(clap::Args)]
struct ServeArgs {
    #[command(flatten)]
    config: Config,
    /// Fill an empty database with sample makers, ads and players, and print their tokens.
    #[arg(long)]
    demo: bool,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let args = match cli.command {
        Some(Command::Serve(args)) => args,
        None => cli.serve,
    };
    telemetry::init_logging(args.config.log_format);
    match serve(args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("p2p-market: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn serve(args: ServeArgs) -> Result<(), StartError> {
    let admin_token = match args.config.admin_token.clone() {
        Some(token) => token,
        None => {
            let token = new_token();
            println!("P2P_ADMIN_TOKEN was not set; this run's admin token is:\n  {token}");
            token
        }
    };
    let app = Application::build(args.config, &admin_token, Clock::default()).await?;
    let address = app.local_addr();
    if args.demo {
        match demo::seed(&app.market).await {
            Ok(Some(world)) => println!("{}", world.describe(address, &admin_token)),
            Ok(None) => println!("The database already has users; --demo left it as it is."),
            Err(error) => eprintln!("p2p-market: the demo could not be seeded: {error}"),
        }
    }
    tracing::info!(%address, "listening");
    app.run(shutdown_signal())
        .await
        .map_err(|e| StartError::Bind(address.to_string(), e))
}

/// Completes on SIGINT or SIGTERM, so in-flight requests drain before the process stops.
async fn shutdown_signal() {
    let interrupt = async {
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
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
