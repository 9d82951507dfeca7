//! What travels to the committer: a commit to run, a wallet to read between two batches.

use tokio::sync::oneshot;

use super::op::{Commit, Receipt};
use crate::domain::wallet::Wallet;
use crate::domain::{DomainError, UserId};

/// A commit and where its outcome goes.
pub(crate) struct Job {
    pub commit: Commit,
    pub reply: oneshot::Sender<Result<Receipt, DomainError>>,
}

/// A wallet read by the committer between two batches, so the commits it includes are known:
/// exactly those whose [`Receipt::seq`] is below `seq`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletLoad {
    pub wallet: Wallet,
    pub seq: u64,
}

/// A wallet to read, and where the read goes.
pub(crate) struct Load {
    pub user_id: UserId,
    pub reply: oneshot::Sender<Result<Option<WalletLoad>, DomainError>>,
}
