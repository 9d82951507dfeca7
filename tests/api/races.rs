//! The race matrix: each pair of conflicting calls on one order, fired together many times.
//! Exactly one wins, the other hears its documented refusal, and the audit holds.

use serde_json::json;

use crate::helpers::{Answer, Backend, TestApp, User, spawn_app_on};

/// How many rounds each race runs (15 without it).
const ROUNDS_VAR: &str = "P2P_RACE_ROUNDS";

fn rounds() -> usize {
    crate::helpers::count_from_env(ROUNDS_VAR, 15) as usize
}

/// What each trader deposits: enough for every round's order to complete.
fn deposit() -> i64 {
    (rounds() as i64 * 6 * 100_000).max(50_000_000)
}

/// The payment window of the orders that race their expiry.
const WINDOW_SECS: i64 = 60;

/// The conflicting calls of the matrix.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Race {
    ConfirmPaidVsCancel,
    ConfirmReceivedVsCancel,
    ConfirmReceivedVsResolve,
    CancelVsExpiry,
    ConfirmPaidVsExpiry,
    TwoTakesOfTheLastCapacity,
}

struct World {
    maker: User,
    seller: User,
    rival: User,
    operator: User,
    ad: i64,
}

async fn world(app: &TestApp) -> World {
    let maker = app.player("maker", 0).await;
    World {
        ad: app
            .buy_ad(
                &maker,
                json!({"total_amount": 2 * deposit(), "payment_window_seconds": WINDOW_SECS}),
            )
            .await,
        maker,
        seller: app.player("seller", deposit()).await,
        rival: app.player("rival", deposit()).await,
        operator: app.operator().await,
    }
}

/// The system's expiry, raced: the clock jumps past the window and the sweep sends `Expire`.
async fn expire(app: &TestApp) -> Answer {
    app.clock.advance_ms(WINDOW_SECS * 1000);
    app.market
        .as_ref()
        .unwrap()
        .sweep_overdue()
        .await
        .expect("the sweep runs");
    Answer {
        status: reqwest::StatusCode::OK,
        body: json!(null),
    }
}

async fn status_of(app: &TestApp, user: &User, order: i64) -> (String, String) {
    let order = app.order(user, order).await;
    (
        order["status"].as_str().unwrap().to_string(),
        order["cancel_reason"].as_str().unwrap_or("").to_string(),
    )
}

/// Runs one round of `race`; answers which side won (0 or 1).
async fn round(app: &TestApp, w: &World, race: Race, i: usize) -> usize {
    // The expiry starts with a read; give it a head start in some rounds so both orders happen.
    let head_start = std::time::Duration::from_millis((i % 3) as u64 * 2);
    if race == Race::TwoTakesOfTheLastCapacity {
        let ad = app
            .buy_ad(
                &w.maker,
                json!({"min_amount": 100_000, "max_amount": 100_000, "total_amount": 100_000}),
            )
            .await;
        let (a, b) = tokio::join!(
            app.take(&w.seller, ad, 100_000),
            app.take(&w.rival, ad, 100_000)
        );
        let winner = one_winner(&a, &b, 201);
        [&a, &b][1 - winner].refused(422, "AMOUNT_EXCEEDS_AVAILABLE");
        // Settle the winner's order so both may withdraw again.
        let taker = [&w.seller, &w.rival][winner];
        let order = [&a, &b][winner].id();
        app.step(taker, order, "cancel").await.expect(200);
        return winner;
    }
    let order = app.take(&w.seller, w.ad, 100_000).await.expect(201)["id"]
        .as_i64()
        .unwrap();
    let resolve = format!("/api/v1/operator/orders/{order}/resolve");
    match race {
        Race::ConfirmPaidVsCancel => {
            let (paid, cancel) = tokio::join!(
                app.step(&w.maker, order, "confirm-paid"),
                app.step(&w.seller, order, "cancel")
            );
            let winner = one_winner(&paid, &cancel, 200);
            [&paid, &cancel][1 - winner].refused(409, "INVALID_ORDER_STATUS");
            if winner == 0 {
                app.step(&w.seller, order, "confirm-received")
                    .await
                    .expect(200);
            }
            winner
        }
        Race::ConfirmReceivedVsCancel => {
            app.step(&w.maker, order, "confirm-paid").await.expect(200);
            // In paid_by_buyer only the buyer may cancel; the seller confirms receipt.
            let (received, cancel) = tokio::join!(
                app.step(&w.seller, order, "confirm-received"),
                app.step(&w.maker, order, "cancel")
            );
            let winner = one_winner(&received, &cancel, 200);
            [&received, &cancel][1 - winner].refused(409, "INVALID_ORDER_STATUS");
            winner
        }
        Race::ConfirmReceivedVsResolve => {
            app.step(&w.maker, order, "confirm-paid").await.expect(200);
            app.step(&w.maker, order, "call-operator").await.expect(200);
            let (received, resolved) = tokio::join!(
                app.step(&w.seller, order, "confirm-received"),
                app.post(
                    &resolve,
                    Some(&w.operator.token),
                    json!({"resolution": "refund"})
                )
            );
            let winner = one_winner(&received, &resolved, 200);
            [&received, &resolved][1 - winner].refused(409, "INVALID_ORDER_STATUS");
            winner
        }
        Race::CancelVsExpiry => {
            let (cancel, _) = tokio::join!(
                async {
                    tokio::time::sleep(head_start).await;
                    app.step(&w.seller, order, "cancel").await
                },
                expire(app)
            );
            let (status, reason) = status_of(app, &w.seller, order).await;
            assert_eq!(status, "cancelled");
            if cancel.status == 200 {
                assert_eq!(reason, "seller");
                0
            } else {
                cancel.refused(409, "INVALID_ORDER_STATUS");
                assert_eq!(reason, "timeout");
                1
            }
        }
        Race::ConfirmPaidVsExpiry => {
            let (paid, _) = tokio::join!(
                async {
                    tokio::time::sleep(head_start).await;
                    app.step(&w.maker, order, "confirm-paid").await
                },
                expire(app)
            );
            let (status, reason) = status_of(app, &w.seller, order).await;
            if paid.status == 200 {
                assert_eq!(status, "paid_by_buyer");
                app.step(&w.seller, order, "confirm-received")
                    .await
                    .expect(200);
                0
            } else {
                paid.refused(409, "INVALID_ORDER_STATUS");
                assert_eq!((status.as_str(), reason.as_str()), ("cancelled", "timeout"));
                1
            }
        }
        Race::TwoTakesOfTheLastCapacity => unreachable!(),
    }
}

/// The index of the one answer with `status`; fails unless exactly one has it.
fn one_winner(a: &Answer, b: &Answer, status: u16) -> usize {
    match (a.status.as_u16() == status, b.status.as_u16() == status) {
        (true, false) => 0,
        (false, true) => 1,
        _ => panic!(
            "not exactly one winner: {} {} / {} {}",
            a.status, a.body, b.status, b.body
        ),
    }
}

async fn every_conflicting_pair_has_exactly_one_winner(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let w = world(&app).await;
    for race in [
        Race::ConfirmPaidVsCancel,
        Race::ConfirmReceivedVsCancel,
        Race::ConfirmReceivedVsResolve,
        Race::CancelVsExpiry,
        Race::ConfirmPaidVsExpiry,
        Race::TwoTakesOfTheLastCapacity,
    ] {
        let mut wins = [0; 2];
        for i in 0..rounds() {
            wins[round(&app, &w, race, i).await] += 1;
        }
        assert_eq!(wins[0] + wins[1], rounds(), "{race:?}");
        eprintln!(
            "{race:?}: first call won {} times, second {}",
            wins[0], wins[1]
        );
        app.assert_audit().await;
    }
    // Money only moved between the three traders: none made, none lost.
    let total: i64 = [&w.maker, &w.seller, &w.rival]
        .iter()
        .map(|u| async { app.balance(u).await })
        .collect::<futures_util::future::JoinAll<_>>()
        .await
        .iter()
        .map(|(available, frozen)| available + frozen)
        .sum();
    assert_eq!(total, 2 * deposit());
}
on_both_stores!(every_conflicting_pair_has_exactly_one_winner, multi_thread);
