//! Every setting and every bound of the service, in one place.

use std::time::Duration;

use clap::Args;

/// Read connections of the SQLite pool. Reads never block the single writer in WAL mode.
pub const READ_POOL_SIZE: u32 = 8;

/// Commits waiting for the committer. Past it a write answers `503 OVERLOADED` at once rather
/// than queueing without end.
pub const COMMIT_QUEUE_BOUND: usize = 4096;

/// Commits grouped into one transaction (one fsync) by the committer.
pub const COMMIT_BATCH_MAX: usize = 256;

/// Most rows one multi-row statement writes or locks (well under both databases' bind limits).
pub const STATEMENT_ROWS_MAX: usize = 512;

/// How often one commit runs again after a deadlock or serialization failure.
pub const TRANSIENT_ATTEMPTS: u32 = 3;

/// How long a request waits for an actor's answer before it is told `503 OVERLOADED`.
pub const ACTOR_CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Overdue orders one expiry sweep handles; the next sweep takes the rest.
pub const EXPIRY_SWEEP_BATCH: i64 = 1000;

/// How often a node writes the last-seen minutes its users' requests noted (each user's at most
/// once a minute).
pub const SEEN_WRITE_INTERVAL: Duration = Duration::from_secs(1);

/// How often a node sharing PostgreSQL re-reads the open ads for its listing.
pub const READ_MODEL_REFRESH_INTERVAL: Duration = Duration::from_secs(1);

/// Capacities one chunk of the listing's capacity pool holds: the capacities of a market's ads
/// sit side by side, so a scan of thousands of ads stays in the cache.
pub const CAPACITY_CHUNK: usize = 4096;

/// Largest page of any listing.
pub const MAX_PAGE_LIMIT: i64 = 100;
pub const DEFAULT_PAGE_LIMIT: i64 = 20;

/// Largest request body (SPEC.md §4: bodies over 64 KiB are `413 PAYLOAD_TOO_LARGE`).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The payment window of an ad that does not name one.
pub const DEFAULT_PAYMENT_WINDOW_SECS: i64 = 900;

/// The longest release window any configuration allows (`P2P_MAX_RELEASE_WINDOW_SECS` is at most
/// this).
pub const MAX_RELEASE_WINDOW_SECONDS: i64 = 7 * 24 * 3600;

/// The release window of an ad that does not name one (within the configured bounds).
pub const DEFAULT_RELEASE_WINDOW_SECS: i64 = 1800;

/// How often a request looks for an actor again when the one it found had just stopped.
pub const ACTOR_ATTEMPTS: usize = 3;

/// Calls that may wait on one actor; past it a call is refused at once (`503 OVERLOADED`).
pub const ACTOR_MAILBOX_BOUND: usize = 1024;

/// A take refused only because other takes still committing hold the capacity waits this long
/// and asks again, up to `HELD_CAPACITY_WAITS` times (those takes may fail and free it).
pub const HELD_CAPACITY_WAIT: Duration = Duration::from_millis(5);
pub const HELD_CAPACITY_WAITS: u32 = 40;

/// Requests the server handles at once; past it a request is answered `503 OVERLOADED` at once.
pub const MAX_IN_FLIGHT_REQUESTS: usize = 4096;

/// How long a read waits for a connection of the pool before it answers `503 OVERLOADED`.
pub const READ_POOL_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// Events an event-stream connection may have waiting; a consumer further behind is cut off
/// (it reconnects with `Last-Event-ID` and replays from the database).
pub const EVENT_SUBSCRIBER_BUFFER: usize = 1024;

/// Events read from the database per query, live or replayed.
pub const EVENT_PAGE: i64 = 500;
/// Chat messages read at once where a whole chat is read (an evidence bundle).
pub const MESSAGE_PAGE: i64 = 500;

/// How often the event pump looks for events committed by other nodes (this node's own commits
/// wake it at once).
pub const EVENT_POLL_INTERVAL: Duration = Duration::from_millis(250);

/// The cancels counted against a taker are those of the last day.
pub const TAKER_CANCEL_WINDOW_MS: i64 = 86_400_000;

/// The longest wait between two webhook delivery attempts.
pub const WEBHOOK_BACKOFF_MAX_MS: i64 = 3_600_000;

/// How long one webhook delivery may take before it counts as failed.
pub const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);

/// How long an idempotent answer is kept for replay.
pub const IDEMPOTENCY_TTL_MS: i64 = 24 * 3_600_000;

/// The longest `Idempotency-Key` accepted.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;
/// What an idempotency key may hold: visible ASCII, with spaces and tabs inside (a header's
/// value as text; its ends are trimmed in transit).
pub const IDEMPOTENCY_KEY_PATTERN: &str = "^[!-~](?:[\\t -~]*[!-~])?$";

/// How often idempotency keys past their lifetime are deleted.
pub const IDEMPOTENCY_PURGE_INTERVAL: Duration = Duration::from_secs(60);

/// How often each node looks for webhook deliveries that are due.
pub const WEBHOOK_POLL_INTERVAL: Duration = Duration::from_millis(200);

/// A node holding a webhook for delivery keeps it this long at most.
pub const WEBHOOK_LEASE_MS: i64 = 30_000;

/// How many ended orders are kept (the oldest leave first): about 1 KB each.
pub const ENDED_ORDERS_KEPT: usize = 16_384;

/// Live events a stream keeps aside while it sends others; past it the stream is cut off like a
/// slow one.
pub const EVENT_STREAM_PENDING_BOUND: usize = 100_000;

/// How long a client told `429` or `503` should wait before retrying, unless the refusal knows.
pub const DEFAULT_RETRY_AFTER_SECS: u64 = 1;

/// How often, at most, the checkpointer copies the WAL into the database while commits come.
pub const WAL_CHECKPOINT_INTERVAL: Duration = Duration::from_millis(50);

/// WAL length (4 KiB frames) past which the writer finishes the checkpoint itself.
pub const WAL_RESTART_FRAMES: i64 = 4096;

/// Past twice [`WAL_RESTART_FRAMES`], how long the writer waits after a commit, a millisecond at
/// a time, for a checkpointer pass that holds the checkpoint lock to end, so that the WAL stays
/// bounded however the two threads are scheduled.
pub const WAL_RESTART_WAIT: Duration = Duration::from_millis(50);

/// Distinct statements kept prepared: the committer's own, and its multi-row statements of
/// recent sizes.
pub const SQLITE_STATEMENT_CACHE: usize = 256;

/// Distinct statements a PostgreSQL committer's connection keeps prepared (its batches' statements
/// take a few dozen texts).
pub const PG_STATEMENT_CACHE: usize = 256;

/// How stale the makers' figures behind the `rating` and `orders_count` orders may grow before
/// the next query re-sorts them (they change with every completed order; the figures shown and
/// the capacities are always current).
pub const MAKER_ORDER_STALENESS: Duration = Duration::from_secs(1);

/// How often the recorder folds the histogram samples recorded since into their buckets.
pub const METRICS_UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// Events one lease delivers at most before it gives the webhook up for others.
pub const WEBHOOK_EVENTS_PER_LEASE: i64 = 100;

/// With no stream open, how often the pump moves its place to the newest event.
pub const EVENT_PUMP_IDLE_INTERVAL: Duration = Duration::from_secs(1);

/// The service's settings; each is a flag and an environment variable.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Where the truth lives: `sqlite://FILE` (embedded).
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://p2p.db")]
    pub database_url: String,

    /// Address to listen on.
    #[arg(long, env = "P2P_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,

    /// The platform's bearer token for the admin routes; generated and printed when unset.
    #[arg(long, env = "P2P_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,

    /// Cumulative deposits (kopecks) a seller needs before selling.
    #[arg(long, env = "P2P_MIN_DEPOSIT", default_value_t = 100_000)]
    pub min_deposit: i64,

    /// The shortest payment window an ad may set.
    #[arg(long, env = "P2P_MIN_PAYMENT_WINDOW_SECS", default_value_t = 60)]
    pub min_payment_window_secs: i64,

    /// The shortest release window an ad may set: how long a seller has, once the buyer says
    /// they paid, before the service disputes the order for the buyer.
    #[arg(long, env = "P2P_MIN_RELEASE_WINDOW_SECS", default_value_t = 300, value_parser = clap::value_parser!(i64).range(1..=MAX_RELEASE_WINDOW_SECONDS))]
    pub min_release_window_secs: i64,

    /// How long the party a dispute was opened against has to answer in the order's chat (the
    /// desk's queue shows who it waits on, and since when).
    #[arg(long, env = "P2P_DISPUTE_ANSWER_SECS", default_value_t = 43_200, value_parser = clap::value_parser!(i64).range(1..=MAX_RELEASE_WINDOW_SECONDS))]
    pub dispute_answer_secs: i64,

    /// Resolutions of orders of at least this many USDT kopecks take two operators: one
    /// proposes, a second approves (0: one operator resolves any order).
    #[arg(long, env = "P2P_DUAL_CONTROL_KOPECKS", default_value_t = 10_000_000, value_parser = clap::value_parser!(i64).range(0..))]
    pub dual_control_kopecks: i64,

    /// The Ed25519 key evidence bundles are signed with: 32 bytes, hex. Unset, the first node
    /// makes one and keeps it in the database for every node (set it in production, so the
    /// key lives apart from the data it vouches for).
    #[arg(long, env = "P2P_SIGNING_KEY", hide_env_values = true)]
    pub signing_key: Option<String>,

    /// The longest release window an ad may set.
    #[arg(long, env = "P2P_MAX_RELEASE_WINDOW_SECS", default_value_t = 86_400, value_parser = clap::value_parser!(i64).range(1..=MAX_RELEASE_WINDOW_SECONDS))]
    pub max_release_window_secs: i64,

    /// SQLite `synchronous=FULL` (durable against power loss) rather than `NORMAL` (durable
    /// against a crash of the process).
    #[arg(long, env = "P2P_SQLITE_SYNC_FULL", default_value_t = true, action = clap::ArgAction::Set)]
    pub sqlite_synchronous_full: bool,

    /// PostgreSQL connections that commit batches at once, over disjoint rows (SQLite has one
    /// writer, its committer thread). One makes the largest batches, the least CPU per order;
    /// more overlap batches where the database is far enough that a batch mostly waits on
    /// round trips.
    #[arg(long, env = "P2P_PG_COMMITTERS", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub pg_committers: u16,

    /// How often every node looks for pending orders past their payment window (order actors
    /// expire their own on time; the sweep catches those of a node that died).
    #[arg(long, env = "P2P_EXPIRY_SWEEP_MS", default_value_t = 1000)]
    pub expiry_sweep_ms: u64,

    /// A wallet actor left alone this long stops and is revived from the database on its next
    /// request, so memory follows the active users rather than the registered ones.
    #[arg(long, env = "P2P_ACTOR_IDLE_SECS", default_value_t = 300)]
    pub actor_idle_secs: u64,

    /// How often the background audit checks every invariant and refreshes the gauges.
    #[arg(long, env = "P2P_AUDIT_INTERVAL_SECS", default_value_t = 30)]
    pub audit_interval_secs: u64,

    /// Cancels of pending orders a taker may make in a day before taking is paused.
    #[arg(long, env = "P2P_TAKER_CANCEL_LIMIT", default_value_t = 3)]
    pub taker_cancel_limit: usize,

    /// How long a taker who reached the cancel limit is paused from taking.
    #[arg(long, env = "P2P_TAKER_PAUSE_SECS", default_value_t = 86_400)]
    pub taker_pause_secs: i64,

    /// Hold for review a withdrawal made soon after a deposit (`P2P_REVIEW_LOW_PLAY_HOURS`)
    /// when less than this percentage of the deposit was wagered since; 0 turns it off.
    #[arg(long, env = "P2P_REVIEW_LOW_PLAY_PERCENT", default_value_t = 0, value_parser = clap::value_parser!(i64).range(0..=10_000))]
    pub review_low_play_percent: i64,

    /// The window after a deposit of the rule above.
    #[arg(long, env = "P2P_REVIEW_LOW_PLAY_HOURS", default_value_t = 24, value_parser = clap::value_parser!(i64).range(1..=8_760))]
    pub review_low_play_hours: i64,

    /// Hold for review a withdrawal to a card that withdrawals of this many different users
    /// (the new one's included) reached within `P2P_REVIEW_CARD_DAYS`; 0 turns it off.
    #[arg(long, env = "P2P_REVIEW_CARD_USERS", default_value_t = 0, value_parser = clap::value_parser!(i64).range(0..=1_000))]
    pub review_card_users: i64,

    /// The window of the rule above.
    #[arg(long, env = "P2P_REVIEW_CARD_DAYS", default_value_t = 30, value_parser = clap::value_parser!(i64).range(1..=365))]
    pub review_card_days: i64,

    /// Hold for review the first withdrawal of an account younger than
    /// `P2P_REVIEW_NEW_ACCOUNT_DAYS` above this many kopecks; 0 turns it off.
    #[arg(long, env = "P2P_REVIEW_NEW_ACCOUNT_LIMIT", default_value_t = 0, value_parser = clap::value_parser!(i64).range(0..))]
    pub review_new_account_limit: i64,

    /// The age under which an account counts as new for the rule above.
    #[arg(long, env = "P2P_REVIEW_NEW_ACCOUNT_DAYS", default_value_t = 7, value_parser = clap::value_parser!(i64).range(1..=3_650))]
    pub review_new_account_days: i64,

    /// The first retry of a failed webhook delivery waits this long; each further one twice as
    /// long, up to an hour.
    #[arg(long, env = "P2P_WEBHOOK_BACKOFF_MS", default_value_t = 1000)]
    pub webhook_backoff_ms: i64,

    /// Requests per second one user's token may make (a burst of twice as many passes);
    /// 0 turns the limit off (the load harness's own runs do).
    #[arg(long, env = "P2P_RATE_LIMIT_PER_SEC", default_value_t = 50)]
    pub rate_limit_per_sec: u32,

    /// Requests handled at once; past it the service answers `503 OVERLOADED`.
    #[arg(long, env = "P2P_MAX_IN_FLIGHT", default_value_t = MAX_IN_FLIGHT_REQUESTS)]
    pub max_in_flight: usize,

    /// How often an idle event stream sends a comment, so proxies keep it open.
    #[arg(long, env = "P2P_EVENT_HEARTBEAT_SECS", default_value_t = 15)]
    pub event_heartbeat_secs: u64,

    /// Log lines as text or as JSON objects (with the request's spans).
    #[arg(long, env = "P2P_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

impl Config {
    /// Settings for a given database with every other value at its default.
    pub fn for_database(database_url: impl Into<String>) -> Self {
        Self {
            database_url: database_url.into(),
            bind: "127.0.0.1:0".into(),
            admin_token: None,
            min_deposit: 100_000,
            min_payment_window_secs: 60,
            min_release_window_secs: 300,
            max_release_window_secs: 86_400,
            dispute_answer_secs: 43_200,
            dual_control_kopecks: 10_000_000,
            signing_key: None,
            sqlite_synchronous_full: true,
            pg_committers: 1,
            expiry_sweep_ms: 1000,
            actor_idle_secs: 300,
            audit_interval_secs: 30,
            taker_cancel_limit: 3,
            taker_pause_secs: 86_400,
            review_low_play_percent: 0,
            review_low_play_hours: 24,
            review_card_users: 0,
            review_card_days: 30,
            review_new_account_limit: 0,
            review_new_account_days: 7,
            webhook_backoff_ms: 1000,
            rate_limit_per_sec: 50,
            max_in_flight: MAX_IN_FLIGHT_REQUESTS,
            event_heartbeat_secs: 15,
            log_format: LogFormat::Text,
        }
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    /// One JSON object per line, with the spans (request id, route, user id, order id).
    Json,
}
