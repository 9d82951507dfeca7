//! The audit finds what breaks each invariant: the database is tampered with behind the
//! service's back, and the audit must name the broken invariant.

use serde_json::{Value, json};
use sqlx::{AnyConnection, Connection};

use crate::helpers::{ADMIN, Backend, TestApp, spawn_app_on, spawn_app_with};

async fn tamper(app: &TestApp, sql: &str) {
    sqlx::any::install_default_drivers();
    let mut db = AnyConnection::connect(&app.database_url).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(&mut db)
        .await
        .unwrap();
    db.close().await.unwrap();
}

async fn broken_invariants(app: &TestApp) -> Vec<u64> {
    let report = app
        .get("/api/v1/admin/audit", Some(ADMIN))
        .await
        .expect(200);
    assert_eq!(
        report["ok"],
        json!(false),
        "the audit missed the tampering: {report}"
    );
    let mut invariants: Vec<u64> = report["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v: &Value| v["invariant"].as_u64().unwrap())
        .collect();
    invariants.dedup();
    invariants
}

/// A market with a completed withdrawal, an active one, and a sell ad.
async fn busy_market(backend: Backend) -> TestApp {
    let app = spawn_app_on(backend).await;
    let maker = app.player("maker", 3_000_000).await;
    let seller = app.player("seller", 1_000_000).await;
    let ad_id = app.buy_ad(&maker, json!({})).await;
    app.sell_ad(&maker, json!({"total_amount": 1_000_000}))
        .await;
    let done = app.take(&seller, ad_id, 200_000).await.expect(201)["id"]
        .as_i64()
        .unwrap();
    app.step(&maker, done, "confirm-paid").await.expect(200);
    app.step(&seller, done, "confirm-received")
        .await
        .expect(200);
    app.take(&seller, ad_id, 300_000).await.expect(201);
    let report = app.assert_audit().await;
    assert_eq!(report["totals"]["escrow_in_orders"], json!(300_000));
    assert_eq!(report["totals"]["sell_ad_reserves"], json!(1_000_000));
    app
}

on_both_stores!(a_balance_changed_outside_the_ledger_breaks_invariants_2_and_4);
async fn a_balance_changed_outside_the_ledger_breaks_invariants_2_and_4(backend: Backend) {
    let app = busy_market(backend).await;
    tamper(
        &app,
        "UPDATE wallets SET available = available + 1 WHERE user_id = 2",
    )
    .await;
    assert_eq!(broken_invariants(&app).await, vec![2, 4]);
}

on_both_stores!(frozen_money_without_escrow_breaks_invariant_3);
async fn frozen_money_without_escrow_breaks_invariant_3(backend: Backend) {
    let app = busy_market(backend).await;
    tamper(
        &app,
        "UPDATE wallets SET available = available - 10, frozen = frozen + 10 WHERE user_id = 2; \
         INSERT INTO ledger (user_id, kind, d_available, d_frozen, created_at) VALUES (2, 'forged', -10, 10, 0)",
    )
    .await;
    assert_eq!(broken_invariants(&app).await, vec![3]);
}

on_both_stores!(capacity_lost_from_an_ad_breaks_invariant_5);
async fn capacity_lost_from_an_ad_breaks_invariant_5(backend: Backend) {
    let app = busy_market(backend).await;
    tamper(
        &app,
        "UPDATE ads SET available_amount = available_amount - 5 WHERE id = 1",
    )
    .await;
    assert_eq!(broken_invariants(&app).await, vec![5]);
}

on_both_stores!(a_second_release_of_one_order_breaks_invariants_2_and_6);
async fn a_second_release_of_one_order_breaks_invariants_2_and_6(backend: Backend) {
    let app = busy_market(backend).await;
    tamper(
        &app,
        "INSERT INTO ledger (user_id, kind, d_available, d_frozen, order_id, created_at) \
         VALUES (2, 'escrow_release', 0, -200000, 1, 0)",
    )
    .await;
    assert_eq!(broken_invariants(&app).await, vec![2, 6]);
}

on_both_stores!(two_active_withdrawals_of_one_seller_break_invariant_6);
async fn two_active_withdrawals_of_one_seller_break_invariant_6(backend: Backend) {
    let app = busy_market(backend).await;
    // Only possible behind the service's back: its unique index is on `active_orders`, which
    // this leaves alone.
    tamper(
        &app,
        "UPDATE orders SET status = 'pending', completed_at = NULL WHERE id = 1",
    )
    .await;
    let broken = broken_invariants(&app).await;
    assert!(broken.contains(&6), "{broken:?}");
}

on_both_stores!(an_active_order_without_its_active_row_breaks_invariant_6);
async fn an_active_order_without_its_active_row_breaks_invariant_6(backend: Backend) {
    let app = busy_market(backend).await;
    // Order 2 is pending: without its row the sweep would never expire it, and the unique
    // index of active withdrawals would not see it.
    tamper(&app, "DELETE FROM active_orders WHERE order_id = 2").await;
    assert_eq!(broken_invariants(&app).await, vec![6]);
}

on_both_stores!(an_active_row_unlike_its_order_breaks_invariant_6);
async fn an_active_row_unlike_its_order_breaks_invariant_6(backend: Backend) {
    let app = busy_market(backend).await;
    // The sweep would expire order 2 a millisecond late.
    tamper(
        &app,
        "UPDATE active_orders SET due_at = due_at + 1 WHERE order_id = 2",
    )
    .await;
    assert_eq!(broken_invariants(&app).await, vec![6]);
}

on_both_stores!(an_unwagered_bonus_unlike_its_replay_breaks_invariant_8);
async fn an_unwagered_bonus_unlike_its_replay_breaks_invariant_8(backend: Backend) {
    let app = busy_market(backend).await;
    let player = app.player("player", 500_000).await;
    app.transaction(&player, "bonus", 100_000).await.expect(201);
    app.assert_audit().await;
    // Bonus money turned into real money behind the service's back.
    tamper(
        &app,
        &format!("UPDATE wallets SET bonus = 0 WHERE user_id = {}", player.id),
    )
    .await;
    assert_eq!(broken_invariants(&app).await, vec![8]);
}

on_both_stores!(rows_naming_what_does_not_exist_break_invariant_9);
async fn rows_naming_what_does_not_exist_break_invariant_9(backend: Backend) {
    let app = busy_market(backend).await;
    // SQLite's foreign keys would refuse the tampering; PostgreSQL has none on these tables.
    let unchecked = match backend {
        Backend::Sqlite => "PRAGMA foreign_keys = OFF; ",
        Backend::Postgres => "",
    };
    tamper(
        &app,
        &format!(
            "{unchecked}INSERT INTO ledger (id, user_id, kind, d_available, d_frozen, order_id, \
             created_at) VALUES (777777, 2, 'forged', 0, 0, 999999, 0); \
             UPDATE orders SET buyer_id = 888888 WHERE id = 1; \
             UPDATE orders SET dispute_opened_by = 888887 WHERE id = 2; \
             INSERT INTO messages (id, order_id, sender_id, sender_role, message, created_at) \
             VALUES (666666, 999998, 888886, 'buyer', 'forged', 0)"
        ),
    )
    .await;
    let report = app
        .get("/api/v1/admin/audit", Some(ADMIN))
        .await
        .expect(200);
    let violations = report["violations"].as_array().unwrap();
    let mut named: Vec<(&str, &str)> = violations
        .iter()
        .map(|v| {
            (
                v["subject"].as_str().unwrap(),
                v["detail"].as_str().unwrap(),
            )
        })
        .collect();
    named.sort();
    assert!(
        violations.iter().all(|v| v["invariant"] == json!(9)),
        "{report}"
    );
    assert_eq!(
        named,
        vec![
            ("ledger 777777", "names order_id 999999, not in orders"),
            ("messages 666666", "names order_id 999998, not in orders"),
            ("messages 666666", "names sender_id 888886, not in users"),
            ("orders 1", "names buyer_id 888888, not in users"),
            ("orders 2", "names dispute_opened_by 888887, not in users"),
        ],
        "{report}"
    );
}

/// Each row of `active_orders`, in order: `(order, side, seller, taker, status, due, held since)`.
type ActiveRow = (i64, String, i64, i64, String, Option<i64>, Option<i64>);

async fn active_rows(db: &mut AnyConnection) -> Vec<ActiveRow> {
    sqlx::query_as(
        "SELECT order_id, side, seller_id, taker_id, status, due_at, held_since \
         FROM active_orders ORDER BY order_id",
    )
    .fetch_all(db)
    .await
    .unwrap()
}

on_both_stores!(the_migrations_backfill_of_active_orders_writes_what_the_service_does);
async fn the_migrations_backfill_of_active_orders_writes_what_the_service_does(backend: Backend) {
    let app = spawn_app_with(backend, |config| {
        config.review_new_account_limit = 500_000;
        config.review_new_account_days = 7;
    })
    .await;
    let maker = app.player("maker", 3_000_000).await;
    let ad = app.buy_ad(&maker, json!({})).await;
    let mut sellers = Vec::new();
    for name in ["pending", "paid", "disputed", "done", "held"] {
        sellers.push(app.player(name, 1_000_000).await);
    }
    let mut orders = Vec::new();
    for seller in &sellers[..4] {
        orders.push(app.take(seller, ad, 100_000).await.id());
    }
    // A new account's large first withdrawal is held for review.
    let held = app.take(&sellers[4], ad, 500_001).await.expect(201);
    assert_eq!(held["review"]["rule"], json!("new_account_limit"));
    for &order in &orders[1..4] {
        app.step(&maker, order, "confirm-paid").await.expect(200);
    }
    app.step(&sellers[2], orders[2], "call-operator")
        .await
        .expect(200);
    app.step(&sellers[3], orders[3], "confirm-received")
        .await
        .expect(200);
    app.assert_audit().await;

    sqlx::any::install_default_drivers();
    let mut db = AnyConnection::connect(&app.database_url).await.unwrap();
    let written = active_rows(&mut db).await;
    let states: Vec<(&str, bool, bool)> = (written.iter())
        .map(|row| (row.4.as_str(), row.5.is_some(), row.6.is_some()))
        .collect();
    // (status, a deadline the sweep acts on, held since)
    let expected = [
        ("pending", true, false),
        ("paid_by_buyer", true, false),
        ("disputed", false, false),
        ("pending", false, true),
    ];
    assert_eq!(states, expected);
    let migration = match backend {
        Backend::Sqlite => include_str!("../../migrations/sqlite/0020_active_orders.sql"),
        Backend::Postgres => include_str!("../../migrations/postgres/0023_active_orders.sql"),
    };
    let backfill = migration
        .split_once("-- The orders already active.\n")
        .and_then(|(_, rest)| rest.split_once(';'))
        .expect("the migration's backfill is marked")
        .0;
    sqlx::raw_sql(sqlx::AssertSqlSafe("DELETE FROM active_orders".to_string()))
        .execute(&mut db)
        .await
        .unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(backfill.to_string()))
        .execute(&mut db)
        .await
        .unwrap();
    assert_eq!(active_rows(&mut db).await, written);
    db.close().await.unwrap();
    app.assert_audit().await;
}
