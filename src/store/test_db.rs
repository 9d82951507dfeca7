//! Fresh databases for the store's own tests: a migrated SQLite file, and a migrated PostgreSQL
//! database when `P2P_TEST_POSTGRES_URL` names a server.

use crate::config::Config;
use crate::store::handle::Store;

/// A fresh SQLite store, and the directory its file lives in.
pub(crate) async fn sqlite_store() -> (Store, tempfile::TempDir) {
    let dir = tempfile::TempDir::new().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    (Store::open(&Config::for_database(url)).await.unwrap(), dir)
}

/// A fresh PostgreSQL database for one test, if `P2P_TEST_POSTGRES_URL` names a server.
pub(crate) async fn postgres_store(test: &str) -> Option<(Store, String)> {
    use sqlx::Connection as _;
    let Ok(base) = std::env::var("P2P_TEST_POSTGRES_URL") else {
        eprintln!("skipped {test}: P2P_TEST_POSTGRES_URL is not set");
        return None;
    };
    sqlx::any::install_default_drivers();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let pid = std::process::id();
    let name = format!("p2p_unit_{pid}_{nanos}");
    let mut admin = sqlx::AnyConnection::connect(&base).await.unwrap();
    // Those left by earlier runs (of other processes) go first.
    static CLEANED: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    CLEANED
        .get_or_init(|| async {
            let mut cleaner = sqlx::AnyConnection::connect(&base).await.unwrap();
            let stale: Vec<(String,)> = sqlx::query_as(
                "SELECT datname::text FROM pg_database WHERE datname LIKE 'p2p_unit_%'",
            )
            .fetch_all(&mut cleaner)
            .await
            .unwrap();
            let ours = format!("p2p_unit_{pid}_");
            for (stale,) in stale.into_iter().filter(|(n,)| !n.starts_with(&ours)) {
                let drop = format!("DROP DATABASE IF EXISTS {stale} WITH (FORCE)");
                let _ = sqlx::query(sqlx::AssertSqlSafe(drop))
                    .execute(&mut cleaner)
                    .await;
            }
        })
        .await;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap();
    let url = format!("{}/{name}", base.rsplit_once('/').unwrap().0);
    Some((
        Store::open(&Config::for_database(url.clone()))
            .await
            .unwrap(),
        url,
    ))
}
