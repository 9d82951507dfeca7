//! The scenarios, one function each: whole order lifecycles (withdraw, deposit, cancel,
//! dispute), browsing, and the service's own health route. Each keeps the harness's book of who
//! should have gained or lost what.

use rand::RngExt;
use reqwest::Method;
use serde_json::json;

use crate::mix::Kind;
use crate::user::VirtualUser;
use crate::world::Trader;

impl VirtualUser {
    /// Runs one scenario of `kind`; `None` if a step did not answer as expected.
    pub(crate) async fn scenario(&mut self, kind: Kind) -> Option<()> {
        let player = self.next_player();
        match kind {
            Kind::Withdraw => self.withdraw(&player).await,
            Kind::Deposit => self.deposit(&player).await,
            Kind::Cancel => self.cancel(&player).await,
            Kind::Dispute => self.dispute(&player).await,
            Kind::Browse => {
                let amount = self.amount();
                let ad_type = if self.rng.random_range(0..2) == 0 {
                    "buy"
                } else {
                    "sell"
                };
                self.browse(&player.token, ad_type, amount).await.map(drop)
            }
            Kind::Health => {
                let health = ("GET /health", Method::GET, "/health");
                self.request(health.0, health.1, health.2, &player.token, None, 200)
                    .await
                    .map(drop)
            }
        }
    }

    /// The player sells to a buy ad: the maker pays (sometimes with a chat message), the player
    /// confirms, and sometimes rates.
    async fn withdraw(&mut self, player: &Trader) -> Option<()> {
        let (order, maker, amount) = self.open_withdrawal(player).await?;
        if self.rng.random_range(0..10) == 0 {
            let path = format!("/api/v1/p2p/orders/{order}/messages");
            let body = json!({"message": "Sent, please check."});
            let route = "POST /orders/{id}/messages";
            self.request(route, Method::POST, &path, &maker.token, Some(body), 201)
                .await?;
        }
        self.step(
            "POST /orders/{id}/confirm-paid",
            order,
            "confirm-paid",
            &maker,
            json!({}),
        )
        .await?;
        let received = "POST /orders/{id}/confirm-received";
        self.step(received, order, "confirm-received", player, json!({}))
            .await?;
        self.book(maker.id, player.id, amount);
        if self.rng.random_range(0..2) == 0 {
            let path = format!("/api/v1/p2p/orders/{order}/rate");
            let body = json!({"rating": self.rng.random_range(3..=5)});
            let route = "POST /orders/{id}/rate";
            self.request(route, Method::POST, &path, &player.token, Some(body), 201)
                .await?;
        }
        Some(())
    }

    /// The player buys from a sell ad, pays, and the maker confirms.
    async fn deposit(&mut self, player: &Trader) -> Option<()> {
        let amount = self.amount();
        let (ad_id, maker) = self.browse(&player.token, "sell", amount).await?;
        let body = json!({"ad_id": ad_id, "usdt_amount": amount, "payment_method": "sbp"});
        let route = "POST /orders";
        let order = self
            .request(
                route,
                Method::POST,
                "/api/v1/p2p/orders",
                &player.token,
                Some(body),
                201,
            )
            .await?;
        self.step(
            "POST /orders/{id}/confirm-paid",
            order,
            "confirm-paid",
            player,
            json!({}),
        )
        .await?;
        let received = "POST /orders/{id}/confirm-received";
        self.step(received, order, "confirm-received", &maker, json!({}))
            .await?;
        self.book(player.id, maker.id, amount);
        Some(())
    }

    /// The player takes a buy ad and cancels before anyone pays.
    async fn cancel(&mut self, player: &Trader) -> Option<()> {
        let (order, _, _) = self.open_withdrawal(player).await?;
        self.step(
            "POST /orders/{id}/cancel",
            order,
            "cancel",
            player,
            json!({}),
        )
        .await?;
        Some(())
    }

    /// The maker says they paid, the player disputes, and the operator releases or refunds.
    async fn dispute(&mut self, player: &Trader) -> Option<()> {
        let (order, maker, amount) = self.open_withdrawal(player).await?;
        self.step(
            "POST /orders/{id}/confirm-paid",
            order,
            "confirm-paid",
            &maker,
            json!({}),
        )
        .await?;
        let reason = json!({"reason": "The payment has not arrived"});
        let dispute = "POST /orders/{id}/call-operator";
        self.step(dispute, order, "call-operator", player, reason)
            .await?;
        let release = self.rng.random_range(0..2) == 0;
        let resolution = if release { "release" } else { "refund" };
        let body = json!({"resolution": resolution, "note": "load test"});
        let operator = self.world.operator.clone();
        let path = format!("/api/v1/operator/orders/{order}/resolve");
        let route = "POST /operator/orders/{id}/resolve";
        self.request(route, Method::POST, &path, &operator.token, Some(body), 200)
            .await?;
        if release {
            self.book(maker.id, player.id, amount);
        }
        Some(())
    }
}
