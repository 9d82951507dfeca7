//! Attachments in an order's chat: PNG, JPEG and PDF by their bytes, at most 5 MiB and 20 an
//! order, readable by the order's parties and operators only, served as downloads.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{Answer, Backend, TestApp, User, spawn_app_on};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0";
const PDF: &[u8] = b"%PDF-1.7\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n";
/// The start of a Linux executable.
const ELF: &[u8] = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0\x3e\0";

async fn upload(
    app: &TestApp,
    user: &User,
    order_id: i64,
    content_type: &str,
    bytes: Vec<u8>,
) -> Answer {
    let response = app
        .client
        .post(format!(
            "{}/api/v1/p2p/orders/{order_id}/attachments",
            app.address
        ))
        .bearer_auth(&user.token)
        .header("content-type", content_type)
        .body(bytes)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body = serde_json::from_str(&response.text().await.unwrap()).unwrap_or(Value::Null);
    Answer { status, body }
}

/// A file: its status, headers and bytes.
async fn download(
    app: &TestApp,
    user: &User,
    order_id: i64,
    sha256: &str,
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let response = app
        .client
        .get(format!(
            "{}/api/v1/p2p/orders/{order_id}/attachments/{sha256}",
            app.address
        ))
        .bearer_auth(&user.token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.bytes().await.unwrap().to_vec())
}

on_both_stores!(a_receipt_reaches_the_parties_and_the_desk_and_no_one_else);
async fn a_receipt_reaches_the_parties_and_the_desk_and_no_one_else(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let maker = app.player("maker", 0).await;
    let seller = app.player("seller", 1_000_000).await;
    let stranger = app.player("stranger", 0).await;
    let operator = app.operator().await;
    let ad_id = app.buy_ad(&maker, json!({})).await;
    let order_id = app.disputed_order(&maker, &seller, ad_id, 200_000).await;

    // The buyer answers the dispute with a receipt.
    let sha = hex::encode(Sha256::digest(PNG));
    let kept = upload(&app, &maker, order_id, "image/png", PNG.to_vec())
        .await
        .expect(201);
    assert_eq!(kept["sha256"], json!(sha));
    assert_eq!(kept["content_type"], "image/png");
    assert_eq!(kept["size"], json!(PNG.len()));
    let answered = app.order(&operator, order_id).await;
    assert_eq!(
        answered["dispute"]["waiting_on"], "operator",
        "a file answers too"
    );
    let chat = app
        .get(
            &format!("/api/v1/p2p/orders/{order_id}/messages"),
            Some(&seller.token),
        )
        .await
        .expect(200);
    let carrier = &chat["items"][0];
    assert_eq!(carrier["attachment"], json!(sha));
    assert_eq!(carrier["id"], kept["message_id"]);

    // Parties and operators read it, as a download; anyone else hears it does not exist.
    for reader in [&maker, &seller, &operator] {
        let (status, headers, bytes) = download(&app, reader, order_id, &sha).await;
        assert_eq!(status, 200);
        assert_eq!(bytes, PNG);
        assert_eq!(headers["content-type"], "image/png");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert!(
            headers["content-disposition"]
                .to_str()
                .unwrap()
                .starts_with("attachment;")
        );
    }
    assert_eq!(download(&app, &stranger, order_id, &sha).await.0, 404);
    upload(&app, &stranger, order_id, "image/png", PNG.to_vec())
        .await
        .refused(404, "NOT_FOUND");
    let unknown = hex::encode(Sha256::digest(b"never uploaded"));
    assert_eq!(download(&app, &seller, order_id, &unknown).await.0, 404);

    // The bundle vouches for it by its hash.
    let signed = app
        .get(
            &format!("/api/v1/operator/orders/{order_id}/bundle"),
            Some(&operator.token),
        )
        .await
        .expect(200);
    let bundle: Value = serde_json::from_str(signed["bundle"].as_str().unwrap()).unwrap();
    assert_eq!(bundle["attachments"][0]["sha256"], json!(sha));
    assert_eq!(bundle["attachments"][0]["uploaded_by"], json!(maker.id));
}

on_both_stores!(only_real_pngs_jpegs_and_pdfs_of_at_most_5_mib_and_20_an_order);
async fn only_real_pngs_jpegs_and_pdfs_of_at_most_5_mib_and_20_an_order(backend: Backend) {
    let app = spawn_app_on(backend).await;
    let maker = app.player("maker", 0).await;
    let seller = app.player("seller", 1_000_000).await;
    let ad_id = app.buy_ad(&maker, json!({})).await;
    let order_id = app.take(&seller, ad_id, 200_000).await.expect(201)["id"]
        .as_i64()
        .unwrap();

    // A renamed executable is refused whatever its header says; so is a header the bytes
    // contradict.
    for declared in ["image/png", "application/pdf", "application/octet-stream"] {
        upload(&app, &seller, order_id, declared, ELF.to_vec())
            .await
            .refused(415, "UNSUPPORTED_MEDIA_TYPE");
    }
    upload(&app, &seller, order_id, "image/png", PDF.to_vec())
        .await
        .refused(415, "UNSUPPORTED_MEDIA_TYPE");
    let pdf = upload(&app, &seller, order_id, "application/pdf", PDF.to_vec())
        .await
        .expect(201);
    assert_eq!(pdf["content_type"], "application/pdf");

    // Over 5 MiB is too large; exactly 5 MiB is not.
    let mut big = PNG.to_vec();
    big.resize(5 * 1024 * 1024 + 1, 0);
    upload(&app, &seller, order_id, "image/png", big.clone())
        .await
        .refused(413, "PAYLOAD_TOO_LARGE");
    big.truncate(5 * 1024 * 1024);
    upload(&app, &seller, order_id, "image/png", big)
        .await
        .expect(201);

    // Twenty files an order: the same file again is kept once, a 21st is refused.
    for i in 2..20u8 {
        let mut png = PNG.to_vec();
        png.push(i);
        upload(&app, &maker, order_id, "image/png", png)
            .await
            .expect(201);
    }
    upload(&app, &maker, order_id, "application/pdf", PDF.to_vec())
        .await
        .expect(201);
    let mut one_more = PNG.to_vec();
    one_more.push(99);
    upload(&app, &maker, order_id, "image/png", one_more)
        .await
        .refused(422, "ATTACHMENTS_LIMIT");
    app.assert_audit().await;
}
