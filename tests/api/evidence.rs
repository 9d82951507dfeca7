//! The evidence bundle: an operator's signed document of a dispute that an auditor checks with
//! the public key alone; one changed byte breaks it.

use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use serde_json::{Value, json};

use crate::helpers::{Backend, spawn_app_on, spawn_app_with};

/// Whether `signature` (hex) of `bundle` verifies under `public_key` (hex).
fn verifies(public_key: &str, bundle: &str, signature: &str) -> bool {
    let key: [u8; 32] = hex::decode(public_key).unwrap().try_into().unwrap();
    let Ok(signature) = hex::decode(signature) else {
        return false;
    };
    let Ok(signature) = Signature::from_slice(&signature) else {
        return false;
    };
    VerifyingKey::from_bytes(&key)
        .unwrap()
        .verify(bundle.as_bytes(), &signature)
        .is_ok()
}

on_both_stores!(a_bundle_verifies_and_breaks_when_a_byte_changes);
async fn a_bundle_verifies_and_breaks_when_a_byte_changes(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let maker = app.player("maker", 0).await;
    let seller = app.player("seller", 1_000_000).await;
    let operator = app.operator().await;
    let ad_id = app.buy_ad(&maker, json!({})).await;
    let order_id = app.take(&seller, ad_id, 200_000).await.expect(201)["id"]
        .as_i64()
        .unwrap();
    app.patch(
        &format!("/api/v1/p2p/orders/{order_id}"),
        Some(&seller.token),
        json!({"payment_details": {"card_number": "2200 0000 0000 0002"}}),
    )
    .await
    .expect(200);
    app.step(&maker, order_id, "confirm-paid").await.expect(200);
    app.step(&seller, order_id, "call-operator")
        .await
        .expect(200);
    app.say(&seller, order_id, "no money came").await;
    app.say(&maker, order_id, "here is my receipt").await;

    let path = format!("/api/v1/operator/orders/{order_id}/bundle");
    let signed = app.get(&path, Some(&operator.token)).await.expect(200);
    let key = app.get("/api/v1/signing-key", None).await.expect(200);
    assert_eq!(key["algorithm"], "Ed25519");
    assert_eq!(signed["public_key"], key["public_key"]);
    let public_key = key["public_key"].as_str().unwrap();
    let text = signed["bundle"].as_str().unwrap();
    let signature = signed["signature"].as_str().unwrap();
    assert!(verifies(public_key, text, signature), "the bundle verifies");

    let bundle: Value = serde_json::from_str(text).unwrap();
    assert_eq!(bundle["format"], "p2p-evidence-bundle/1");
    assert_eq!(bundle["generated_for"], json!(operator.id));
    assert_eq!(bundle["order"]["id"], json!(order_id));
    assert_eq!(bundle["order"]["status"], "disputed");
    let events: Vec<&str> = bundle["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|step| step["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        [
            "order.created",
            "order.updated",
            "order.paid",
            "order.disputed"
        ]
    );
    let chat: Vec<&str> = bundle["chat"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["message"].as_str().unwrap())
        .collect();
    assert_eq!(chat, ["no money came", "here is my receipt"]);
    let cards: Vec<&Value> = bundle["payment_details_versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| &v["payment_details"]["card_number"])
        .collect();
    assert_eq!(
        cards,
        [&json!("2200 1234 5678 9012"), &json!("2200 0000 0000 0002")],
        "every version, in full, for the auditor"
    );
    assert_eq!(bundle["attachments"], json!([]));
    assert_eq!(bundle["buyer"]["id"], json!(maker.id));
    assert_eq!(bundle["seller"]["id"], json!(seller.id));
    assert!(bundle["seller"].get("completion_rate_30d").is_some());

    // One changed byte of the bundle, or of the signature, and it no longer verifies.
    let tampered = text.replacen("200000", "300000", 1);
    assert_ne!(tampered, text);
    assert!(!verifies(public_key, &tampered, signature));
    let mut forged = signature.to_string();
    let last = if forged.ends_with('0') { "1" } else { "0" };
    forged.replace_range(forged.len() - 1.., last);
    assert!(!verifies(public_key, text, &forged));

    // For operators only; the key stays the key across a restart.
    app.get(&path, Some(&seller.token))
        .await
        .refused(403, "FORBIDDEN");
    app.get(
        "/api/v1/operator/orders/999999/bundle",
        Some(&operator.token),
    )
    .await
    .refused(404, "NOT_FOUND");
    let app = app.restart().await;
    let again = app.get("/api/v1/signing-key", None).await.expect(200);
    assert_eq!(again["public_key"], key["public_key"]);
    let later = app.get(&path, Some(&operator.token)).await.expect(200);
    assert!(verifies(
        public_key,
        later["bundle"].as_str().unwrap(),
        later["signature"].as_str().unwrap()
    ));
}

on_both_stores!(a_configured_key_signs_instead_of_the_kept_one);
async fn a_configured_key_signs_instead_of_the_kept_one(backend: Backend) {
    let app = spawn_app_with(backend, |config| {
        config.signing_key = Some(hex::encode([7u8; 32]));
    })
    .await;
    let expected = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]).verifying_key();
    let key = app.get("/api/v1/signing-key", None).await.expect(200);
    assert_eq!(key["public_key"], json!(hex::encode(expected.as_bytes())));
}
