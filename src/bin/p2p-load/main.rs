//! `p2p-load`: the load-testing harness of P2P Market.
//!
//! It sets up its own world through the admin API (makers with buy and sell ads, funded players,
//! an operator), then runs virtual users through whole order lifecycles over keep-alive HTTP
//! connections, and reports throughput, latency percentiles per route, refusals and unexpected
//! answers. At the end it calls the audit and checks every balance against its own bookkeeping;
//! it exits non-zero if an invariant broke, a 5xx was seen, or money does not add up.

mod local;
mod mix;
mod report;
mod run;
mod scenarios;
mod server;
mod tally;
mod user;
mod world;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;

use crate::mix::Mix;

/// The harness shares the machine with the server it measures: mimalloc spends less of that
/// machine on its many short-lived buffers than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug, Clone)]
#[command(name = "p2p-load", version, about = "Load-tests a running p2p-market")]
pub struct Args {
    /// The service's base URL; several, comma-separated, spread the virtual users over several
    /// nodes of one market.
    #[arg(long, default_value = "http://127.0.0.1:8080", value_delimiter = ',')]
    pub url: Vec<String>,
    /// The platform's admin token (to create the world and run the audit).
    #[arg(long, env = "P2P_ADMIN_TOKEN")]
    pub admin_token: String,
    /// Makers, each with one buy ad and one sell ad.
    #[arg(long, default_value_t = 50)]
    pub makers: usize,
    /// Funded players who take the ads; at least one per virtual user.
    #[arg(long, default_value_t = 2000)]
    pub players: usize,
    /// Virtual users running at once (and HTTP connections).
    #[arg(long, default_value_t = 128)]
    pub concurrency: usize,
    /// How long to run (`60s`, `2m`, `500ms`); ignored with --orders.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Stop after this many scenarios instead of after --duration.
    #[arg(long)]
    pub orders: Option<u64>,
    /// Weights of the scenarios: withdraw, deposit, cancel, dispute, browse (a listing query),
    /// health (a trivial request, to measure the harness and the HTTP stack).
    #[arg(long, default_value = "withdraw=70,deposit=20,cancel=5,dispute=5", value_parser = Mix::parse)]
    pub mix: Mix,
    /// Seed of the virtual users' choices.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Also write the report as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Draw throughput and p99 over time as SVG here.
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Also report the CPU that this machine's processes of this name (`postgres`) spent over
    /// the run, read from /proc; may be given more than once.
    #[arg(long, value_name = "NAME")]
    pub watch_process: Vec<String>,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = text
        .find(|c: char| !c.is_ascii_digit())
        .map_or((text, "s"), |i| text.split_at(i));
    let value: u64 = number
        .parse()
        .map_err(|_| format!("not a duration: {text}"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(value)),
        "s" => Ok(Duration::from_secs(value)),
        "m" => Ok(Duration::from_secs(value * 60)),
        _ => Err(format!("unknown unit in {text}: use ms, s or m")),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    if args.players < args.concurrency {
        eprintln!(
            "p2p-load: --players must be at least --concurrency (each virtual user needs its own players)"
        );
        return ExitCode::from(2);
    }
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency + 8)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("an HTTP client");
    let nodes: Vec<world::Api> = match args
        .url
        .iter()
        .map(|url| world::Api::new(client.clone(), url))
        .collect()
    {
        Ok(nodes) => nodes,
        Err(error) => {
            eprintln!("p2p-load: {error}");
            return ExitCode::from(2);
        }
    };
    let api = nodes[0].clone();
    eprintln!(
        "p2p-load: setting up {} makers and {} players at {}",
        args.makers,
        args.players,
        args.url.join(", ")
    );
    let world = match world::World::create(&api, &args).await {
        Ok(world) => Arc::new(world),
        Err(error) => {
            eprintln!("p2p-load: setting up the world failed: {error}");
            return ExitCode::FAILURE;
        }
    };
    let watched_before: Vec<_> = args
        .watch_process
        .iter()
        .map(|n| local::sample(n))
        .collect();
    let before = server::sample(&nodes, &args.admin_token).await;
    let outcome = run::run(nodes.clone(), world.clone(), &args).await;
    let after = server::sample(&nodes, &args.admin_token).await;
    let watched: Vec<_> = (args.watch_process.iter().zip(&watched_before))
        .map(|(name, before)| {
            let after = local::sample(name);
            (name.clone(), local::spent(before, &after), after.len())
        })
        .collect();
    let servers = server::report(&before, &after, outcome.completed_orders);
    let watched = local::report(&watched, outcome.completed_orders);
    let check = world.check(&api, &outcome.book).await;
    let report = report::Report::new(&args, &outcome, &check, servers, watched);
    println!("{}", report.text());
    let files = [
        (&args.json, report.json()),
        (&args.plot, report::plot(&outcome.timeline)),
    ];
    for (path, text) in files {
        if let Some(path) = path
            && let Err(error) = std::fs::write(path, text)
        {
            eprintln!("p2p-load: cannot write {}: {error}", path.display());
        }
    }
    if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
