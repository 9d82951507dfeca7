//! `serve --demo`: a small live market in an empty database, so a newcomer can trade at once.

use std::fmt::Write;
use std::net::SocketAddr;

use serde_json::json;

use super::accounts::NewTransaction;
use super::ads::NewAd;
use super::service::Market;
use crate::domain::AdId;
use crate::domain::UserId;
use crate::domain::ad::AdType;
use crate::domain::wallet::TransactionKind;
use crate::domain::{Caller, DomainError, Role};

/// Who the demo created, with their tokens.
pub struct DemoWorld {
    pub makers: Vec<(String, String)>,
    pub players: Vec<(String, String)>,
    pub operator: (String, String),
    pub buy_ad_id: AdId,
    pub sell_ad_id: AdId,
}

const MAKERS: [(&str, i64); 3] = [("Alice", 9550), ("Boris", 9540), ("Vera", 9565)];
const PLAYERS: [&str; 3] = ["Pavel", "Olga", "Ivan"];

/// Seeds an empty database; leaves one that has users alone (`None`).
pub async fn seed(market: &Market) -> Result<Option<DemoWorld>, DomainError> {
    if market.store().users_count().await? > 0 {
        return Ok(None);
    }
    let mut makers = Vec::new();
    let (mut buy_ad_id, mut sell_ad_id) = (AdId::default(), AdId::default());
    for (i, (name, price)) in MAKERS.into_iter().enumerate() {
        let (user, token) = market.create_user(name, Role::User, None).await?;
        fund(market, user.id, 5_000_000, &format!("demo-maker-{i}")).await?;
        let caller = Caller {
            user_id: user.id,
            role: Role::User,
        };
        let (buy, _) = market
            .create_ad(caller, ad(AdType::Buy, price, i), None)
            .await?;
        let (sell, _) = market
            .create_ad(caller, ad(AdType::Sell, price + 60, i), None)
            .await?;
        if i == 0 {
            (buy_ad_id, sell_ad_id) = (buy.id, sell.id);
        }
        makers.push((name.to_string(), token));
    }
    let mut players = Vec::new();
    for (i, name) in PLAYERS.into_iter().enumerate() {
        let (user, token) = market.create_user(name, Role::User, None).await?;
        fund(market, user.id, 1_000_000, &format!("demo-player-{i}")).await?;
        players.push((name.to_string(), token));
    }
    let (_, operator_token) = market
        .create_user("Oleg (operator)", Role::Operator, None)
        .await?;
    Ok(Some(DemoWorld {
        makers,
        players,
        operator: ("Oleg (operator)".into(), operator_token),
        buy_ad_id,
        sell_ad_id,
    }))
}

async fn fund(
    market: &Market,
    user_id: UserId,
    amount: i64,
    reference: &str,
) -> Result<(), DomainError> {
    let deposit = NewTransaction {
        kind: TransactionKind::Deposit,
        amount,
        reference: reference.into(),
        wagering_multiplier: None,
    };
    market
        .post_transaction(user_id, deposit, None)
        .await
        .map(|_| ())
}

fn ad(ad_type: AdType, price: i64, i: usize) -> NewAd {
    NewAd {
        ad_type,
        fiat_currency: "RUB".into(),
        price: Some(price),
        price_type: Default::default(),
        premium_bp: None,
        min_amount: 100_000,
        max_amount: 1_000_000,
        total_amount: 3_000_000,
        payment_methods: vec!["card".into(), "sbp".into()],
        payment_window_seconds: Some(900),
        release_window_seconds: None,
        terms: Some("Fast and polite. Pay only from an account in your own name.".into()),
        payment_method_id: None,
        requirements: Default::default(),
        payment_details: (ad_type == AdType::Sell).then(|| {
            json!({
                "card": {"card_number": format!("2200 7000 0000 10{i:02}"), "holder": "DEMO MAKER"},
                "sbp": {"phone": format!("+7 900 000-00-{i:02}"), "bank": "Demo Bank"},
            })
        }),
    }
}

impl DemoWorld {
    /// What to print: who is who, and curl lines to try.
    pub fn describe(&self, address: SocketAddr, admin_token: &str) -> String {
        let base = format!("http://{address}");
        let mut out =
            String::from("\nDemo market ready.\n\nMakers (each has a buy ad and a sell ad):\n");
        for (name, token) in &self.makers {
            let _ = writeln!(out, "  {name:<16} {token}");
        }
        out.push_str("Players (funded with 10,000 RUB):\n");
        for (name, token) in &self.players {
            let _ = writeln!(out, "  {name:<16} {token}");
        }
        let _ = writeln!(
            out,
            "Operator:\n  {:<16} {}",
            self.operator.0, self.operator.1
        );
        let _ = writeln!(out, "Admin token:\n  {admin_token}\n");
        let player = &self.players[0].1;
        let _ = writeln!(
            out,
            "Browse the buy ads:\n  curl -s '{base}/api/v1/p2p/ads?type=buy&fiat_currency=RUB&limit=20&offset=0'\n"
        );
        let _ = writeln!(
            out,
            "Withdraw 3,000 RUB by selling to a buy ad:\n  curl -s -X POST {base}/api/v1/p2p/orders -H 'Authorization: Bearer {player}' \\\n    -H 'Content-Type: application/json' \\\n    -d '{{\"ad_id\": {}, \"usdt_amount\": 300000, \"payment_method\": \"card\", \"payment_details\": {{\"card_number\": \"2200 1234 5678 9012\"}}}}'\n",
            self.buy_ad_id
        );
        let _ = writeln!(
            out,
            "Deposit by buying from a sell ad:\n  curl -s -X POST {base}/api/v1/p2p/orders -H 'Authorization: Bearer {player}' \\\n    -H 'Content-Type: application/json' -d '{{\"ad_id\": {}, \"usdt_amount\": 200000, \"payment_method\": \"sbp\"}}'\n",
            self.sell_ad_id
        );
        let _ = writeln!(
            out,
            "Your account:\n  curl -s {base}/api/v1/me -H 'Authorization: Bearer {player}'"
        );
        out
    }
}
