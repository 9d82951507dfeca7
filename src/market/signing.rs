//! The key evidence bundles are signed with: the configured one, or one kept in the database
//! for every node.

use ed25519_dalek::SigningKey;

use crate::config::Config;
use crate::domain::Millis;
use crate::store::{Commit, Op, Store};

/// The signing key: `P2P_SIGNING_KEY`'s, or the one the database keeps for every node (the
/// first node to start makes it).
pub(super) async fn signing_key(
    store: &Store,
    config: &Config,
    now: Millis,
) -> Result<SigningKey, String> {
    let seed = match &config.signing_key {
        Some(hex_seed) => hex_seed.clone(),
        None => kept_seed(store, now).await?,
    };
    let bytes: [u8; 32] = hex::decode(seed.trim())
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or("P2P_SIGNING_KEY must be 32 bytes in hex (64 characters)")?;
    Ok(SigningKey::from_bytes(&bytes))
}

/// The seed the database keeps for every node; the first node to start makes it (if two start
/// at once, the first insert wins and both read it back).
async fn kept_seed(store: &Store, now: Millis) -> Result<String, String> {
    if let Some(seed) = store.signing_seed().await.map_err(|e| e.to_string())? {
        return Ok(seed);
    }
    let mut fresh = [0u8; 32];
    getrandom::fill(&mut fresh).map_err(|e| e.to_string())?;
    let keep = Op::SaveSigningSeed {
        seed: hex::encode(fresh),
        now,
    };
    store
        .commit(Commit::new(vec![keep]))
        .await
        .map_err(|e| e.to_string())?;
    store
        .signing_seed()
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| "the signing key was not kept".to_owned())
}
