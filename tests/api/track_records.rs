//! Track records: each ending of an order counts for the party it speaks of, in every answer that
//! shows a user, and rolls out of the 30-day window with the clock; last seen to the minute.

use serde_json::{Value, json};
use sqlx::{AnyConnection, Connection, Row};

use crate::helpers::{Backend, TestApp, User, eventually, item_ids, spawn_app_on};

const DAY_MS: i64 = 86_400_000;

async fn public(app: &TestApp, user: &User) -> Value {
    app.get(&format!("/api/v1/users/{}", user.id), None)
        .await
        .expect(200)
}

/// The record's figures as `(completion_rate_30d, avg_pay_seconds_30d,
/// avg_release_seconds_30d, orders_30d)`.
fn figures(shown: &Value) -> (Value, Value, Value, Value) {
    (
        shown["completion_rate_30d"].clone(),
        shown["avg_pay_seconds_30d"].clone(),
        shown["avg_release_seconds_30d"].clone(),
        shown["orders_30d"].clone(),
    )
}

/// Moves the clock to 01:00 UTC of the next day, so a test's orders all end on one day.
fn to_the_start_of_a_day(app: &TestApp) {
    let now = app.clock.now_ms();
    app.clock
        .advance_ms(DAY_MS - now.rem_euclid(DAY_MS) + 3_600_000);
}

async fn listing(app: &TestApp, sort_by: &str) -> Value {
    app.get(
        &format!("/api/v1/p2p/ads?type=buy&fiat_currency=RUB&sort_by={sort_by}"),
        None,
    )
    .await
    .expect(200)
}

on_both_stores!(each_ending_counts_for_its_party_and_rolls_out_after_thirty_days);
async fn each_ending_counts_for_its_party_and_rolls_out_after_thirty_days(backend: Backend) {
    let mut app = spawn_app_on(backend).await;
    to_the_start_of_a_day(&app);
    let maker = app.player("maker", 0).await;
    let ad = app.buy_ad(&maker, json!({})).await;
    let before = public(&app, &maker).await;
    assert_eq!(
        figures(&before),
        (json!(null), json!(null), json!(null), json!(0))
    );
    assert_eq!(before["first_order_at"], json!(null));
    let (seller, canceller, quitter) = (
        app.player("seller", 1_000_000).await,
        app.player("canceller", 1_000_000).await,
        app.player("quitter", 1_000_000).await,
    );

    // Completed: the maker (buyer) paid after 61 s, the seller released 120 s later.
    let first = app.take(&seller, ad, 100_000).await.expect(201);
    let first_id = first["id"].as_i64().unwrap();
    app.clock.advance_ms(61_000);
    app.step(&maker, first_id, "confirm-paid").await.expect(200);
    app.clock.advance_ms(120_000);
    app.step(&seller, first_id, "confirm-received")
        .await
        .expect(200);
    // Cancelled by the maker, then by a seller.
    let second = app.take(&canceller, ad, 100_000).await.id();
    app.step(&maker, second, "cancel").await.expect(200);
    let third = app.take(&quitter, ad, 100_000).await.id();
    app.step(&quitter, third, "cancel").await.expect(200);
    // Expired while the maker had to pay.
    let fourth = app.take(&seller, ad, 100_000).await.id();
    app.clock.advance_ms(901_000);
    assert!(
        eventually(10, || async {
            app.order(&maker, fourth).await["status"] == json!("cancelled")
        })
        .await,
        "the order expires"
    );

    let expect_maker = (json!(3333), json!(61), json!(null), json!(1));
    assert_eq!(figures(&public(&app, &maker).await), expect_maker);
    assert_eq!(
        figures(&public(&app, &seller).await),
        (json!(10_000), json!(null), json!(120), json!(1))
    );
    assert_eq!(
        figures(&public(&app, &quitter).await),
        (json!(0), json!(null), json!(null), json!(0))
    );
    // A counterparty's cancel counts for no one else.
    assert_eq!(
        figures(&public(&app, &canceller).await),
        (json!(null), json!(null), json!(null), json!(0))
    );
    assert_eq!(
        public(&app, &maker).await["first_order_at"],
        first["created_at"]
    );
    // The same record beside the ad, in the listing and in the maker's own account.
    assert_eq!(figures(&app.ad_json(ad).await["maker"]), expect_maker);
    assert_eq!(
        figures(&listing(&app, "best_price").await["items"][0]["maker"]),
        expect_maker
    );
    let me = app.get("/api/v1/me", Some(&maker.token)).await.expect(200);
    assert_eq!(figures(&me), expect_maker);

    // Kept across a restart; counted through the 30th day, gone on the 31st.
    app = app.restart().await;
    assert_eq!(figures(&public(&app, &maker).await), expect_maker);
    app.clock.advance_ms(29 * DAY_MS);
    assert_eq!(figures(&public(&app, &maker).await), expect_maker);
    assert_eq!(figures(&app.ad_json(ad).await["maker"]), expect_maker);
    app.clock.advance_ms(DAY_MS);
    let rolled = (json!(null), json!(null), json!(null), json!(0));
    assert_eq!(figures(&public(&app, &maker).await), rolled);
    assert_eq!(figures(&app.ad_json(ad).await["maker"]), rolled);
    assert_eq!(
        figures(&listing(&app, "best_price").await["items"][0]["maker"]),
        rolled
    );
    assert_eq!(
        public(&app, &maker).await["first_order_at"],
        first["created_at"]
    );
    app.assert_audit().await;
}

on_both_stores!(the_listing_sorts_by_completion_rate_with_no_record_last);
async fn the_listing_sorts_by_completion_rate_with_no_record_last(backend: Backend) {
    let app = spawn_app_on(backend).await;
    to_the_start_of_a_day(&app);
    let (new, sometimes, always) = (
        app.player("new", 0).await,
        app.player("sometimes", 0).await,
        app.player("always", 0).await,
    );
    let new_ad = app.buy_ad(&new, json!({"price": 9700})).await;
    let sometimes_ad = app.buy_ad(&sometimes, json!({"price": 9600})).await;
    let always_ad = app.buy_ad(&always, json!({"price": 9500})).await;
    let seller = app.player("seller", 1_000_000).await;
    for (maker, ad, cancel) in [
        (&sometimes, sometimes_ad, true),
        (&sometimes, sometimes_ad, false),
        (&always, always_ad, false),
    ] {
        let order = app.take(&seller, ad, 100_000).await.id();
        if cancel {
            app.step(maker, order, "cancel").await.expect(200);
            continue;
        }
        app.step(maker, order, "confirm-paid").await.expect(200);
        app.step(&seller, order, "confirm-received")
            .await
            .expect(200);
    }
    assert_eq!(
        item_ids(&listing(&app, "best_price").await),
        [new_ad, sometimes_ad, always_ad]
    );
    // The index takes up changed figures within a second.
    let expected = [always_ad, sometimes_ad, new_ad];
    assert!(
        eventually(5, || async {
            item_ids(&listing(&app, "completion_rate").await) == expected
        })
        .await,
        "sorted by completion rate: {}",
        listing(&app, "completion_rate").await
    );
    let page = listing(&app, "completion_rate").await;
    assert_eq!(
        page["items"][1]["maker"]["completion_rate_30d"],
        json!(5000)
    );
}

on_both_stores!(last_seen_is_kept_to_the_minute_and_online_for_five);
async fn last_seen_is_kept_to_the_minute_and_online_for_five(backend: Backend) {
    let mut app = spawn_app_on(backend).await;
    let user = app.player("user", 0).await;
    let ad = app.buy_ad(&user, json!({})).await;
    let shown = public(&app, &user).await;
    assert_eq!(shown["online"], json!(true));
    let last_seen = shown["last_seen_at"].as_str().unwrap().to_owned();
    assert_eq!(
        app.ad_json(ad).await["maker"]["last_seen_at"],
        json!(last_seen)
    );
    assert!(
        last_seen.ends_with(":00.000Z"),
        "to the minute: {last_seen}"
    );

    // Written within a second: a restarted node reads it from the database.
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    app = app.restart().await;
    assert_eq!(public(&app, &user).await["last_seen_at"], json!(last_seen));
    assert_eq!(
        app.ad_json(ad).await["maker"]["last_seen_at"],
        json!(last_seen)
    );

    // Five minutes without a request: no longer online; the next request moves it on.
    app.clock.advance_ms(5 * 60_000);
    assert_eq!(public(&app, &user).await["online"], json!(false));
    assert_eq!(app.ad_json(ad).await["maker"]["online"], json!(false));
    app.get("/api/v1/me", Some(&user.token)).await.expect(200);
    let moved = public(&app, &user).await;
    assert_eq!(moved["online"], json!(true));
    assert_ne!(moved["last_seen_at"], json!(last_seen));
}

/// The rows a track record is kept in: each user's day rows and first order.
async fn track_rows(app: &TestApp) -> (Vec<Vec<i64>>, Vec<(i64, Option<i64>)>) {
    sqlx::any::install_default_drivers();
    let mut db = AnyConnection::connect(&app.database_url).await.unwrap();
    let days = sqlx::query(
        "SELECT user_id, day, completed, cancelled, expired, paid, pay_ms, released, release_ms \
         FROM track_days ORDER BY user_id, day",
    )
    .fetch_all(&mut db)
    .await
    .unwrap()
    .iter()
    .map(|row| (0..9).map(|i| row.get::<i64, _>(i)).collect())
    .collect();
    let firsts = sqlx::query("SELECT id, first_order_at FROM users ORDER BY id")
        .fetch_all(&mut db)
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get::<i64, _>(0), row.get::<Option<i64>, _>(1)))
        .collect();
    db.close().await.unwrap();
    (days, firsts)
}

on_both_stores!(the_migration_counts_older_orders_as_the_service_does);
/// The migration that brought track records counts the orders made before it from the orders
/// table. Run over this test's orders (every way an order ends), it writes exactly the rows the
/// service wrote as the orders went.
async fn the_migration_counts_older_orders_as_the_service_does(backend: Backend) {
    let app = spawn_app_on(backend).await;
    to_the_start_of_a_day(&app);
    let maker = app.player("maker", 5_000_000).await;
    let operator = app.operator().await;
    let buy = app
        .buy_ad(&maker, json!({"payment_window_seconds": 60}))
        .await;
    let (seller, other) = (
        app.player("seller", 2_000_000).await,
        app.player("other", 2_000_000).await,
    );
    // Completed, paid after 61 s and released after 120 s.
    let done = app.take(&seller, buy, 100_000).await.id();
    app.clock.advance_ms(61_000);
    app.step(&maker, done, "confirm-paid").await.expect(200);
    app.clock.advance_ms(120_000);
    app.step(&seller, done, "confirm-received")
        .await
        .expect(200);
    // Cancelled by the buyer, by the seller, and expired.
    let by_buyer = app.take(&other, buy, 100_000).await.id();
    app.step(&maker, by_buyer, "cancel").await.expect(200);
    let by_seller = app.take(&other, buy, 100_000).await.id();
    app.step(&other, by_seller, "cancel").await.expect(200);
    let expired = app.take(&seller, buy, 100_000).await.id();
    app.clock.advance_ms(61_000);
    assert!(
        eventually(10, || async {
            app.order(&seller, expired).await["status"] == json!("cancelled")
        })
        .await
    );
    // Disputed, then released by an operator the next day; and refunded.
    let released = app.take(&seller, buy, 100_000).await.id();
    app.step(&maker, released, "confirm-paid").await.expect(200);
    app.step(&seller, released, "call-operator")
        .await
        .expect(200);
    app.clock.advance_ms(DAY_MS);
    let resolve = |order: i64, resolution: &'static str| {
        let (app, token) = (&app, operator.token.clone());
        async move {
            let path = format!("/api/v1/operator/orders/{order}/resolve");
            let body = json!({"resolution": resolution});
            app.post(&path, Some(&token), body).await
        }
    };
    resolve(released, "release").await.expect(200);
    let refunded = app.take(&other, buy, 100_000).await.id();
    app.step(&maker, refunded, "confirm-paid").await.expect(200);
    app.step(&maker, refunded, "call-operator")
        .await
        .expect(200);
    resolve(refunded, "refund").await.expect(200);

    let kept = track_rows(&app).await;
    assert!(kept.0.len() >= 4, "{kept:?}");
    let migration = match backend {
        Backend::Sqlite => include_str!("../../migrations/sqlite/0009_track_records.sql"),
        Backend::Postgres => include_str!("../../migrations/postgres/0010_track_records.sql"),
    };
    let backfill = migration
        .split_once("-- The orders made before this version")
        .and_then(|(_, rest)| rest.split_once('\n'))
        .expect("the migration's backfill is marked")
        .1;
    sqlx::any::install_default_drivers();
    let mut db = AnyConnection::connect(&app.database_url).await.unwrap();
    let forget = "DELETE FROM track_days; UPDATE users SET first_order_at = NULL;";
    for sql in [forget, backfill] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
            .execute(&mut db)
            .await
            .unwrap();
    }
    db.close().await.unwrap();
    assert_eq!(track_rows(&app).await, kept);
}
