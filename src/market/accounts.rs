//! Users, tokens and the platform's wallet transactions.

use super::service::{Market, new_token, token_hash};
use crate::actors::protocol::Rule;
use crate::domain::UserId;
use crate::domain::idempotency::IdempotencyKey;
use crate::domain::user::User;
use crate::domain::wallet::Transaction;
use crate::domain::wallet::{DEFAULT_WAGERING_MULTIPLIER, TransactionKind, Wallet};
use crate::domain::{Caller, DomainError, ErrorCode, Role, rfc3339, validate};
use crate::store::{Commit, MoneyMove, NewUser, NewWalletTransaction, Op, RowRef};
use crate::views::TransactionView;

/// The largest wagering multiplier a bonus may carry.
pub const MAX_WAGERING_MULTIPLIER: i64 = 100;

/// A platform transaction as the admin posts it.
#[derive(Debug, Clone)]
pub struct NewTransaction {
    pub kind: TransactionKind,
    /// As the platform sent it, checked when the transaction is posted.
    pub amount: i64,
    pub reference: String,
    pub wagering_multiplier: Option<i64>,
}

impl Market {
    /// Creates a user and their empty wallet; answers the user and their token, shown only now.
    pub async fn create_user(
        &self,
        name: &str,
        role: Role,
        key: Option<IdempotencyKey>,
    ) -> Result<(User, String), DomainError> {
        let name = validate::text("name", name, 1, validate::MAX_NAME_CHARS)?;
        let token = new_token();
        let receipt = self
            .store()
            .commit(
                Commit::new(vec![Op::InsertUser(NewUser {
                    name: name.clone(),
                    role,
                    token_hash: token_hash(&token),
                    now: self.now_ms(),
                })])
                .keyed(key),
            )
            .await?;
        let user = User {
            id: UserId(receipt.first_id()),
            name,
            role,
            rating_sum: 0,
            ratings_count: 0,
            orders_count: 0,
        };
        Ok((user, token))
    }

    /// Posts a platform transaction. The same reference with the same body answers the first
    /// result (`replayed` is true); with another body it is `DUPLICATE_REFERENCE`.
    pub async fn post_transaction(
        &self,
        user_id: UserId,
        request: NewTransaction,
        key: Option<IdempotencyKey>,
    ) -> Result<(TransactionView, bool), DomainError> {
        let amount = validate::amount("amount", request.amount)?;
        let reference = validate::text(
            "reference",
            &request.reference,
            1,
            validate::MAX_REFERENCE_CHARS,
        )?;
        let multiplier = request
            .wagering_multiplier
            .unwrap_or(DEFAULT_WAGERING_MULTIPLIER);
        if !(0..=MAX_WAGERING_MULTIPLIER).contains(&multiplier) {
            return Err(DomainError::validation(format!(
                "wagering_multiplier must be 0 to {MAX_WAGERING_MULTIPLIER}"
            )));
        }
        let same_request = |record: &Transaction| {
            record.user_id == user_id
                && record.kind == request.kind
                && record.amount == amount
                && record.wagering_multiplier == multiplier
        };
        if let Some(first) = self.store().transaction_by_reference(&reference).await? {
            return replay(first, same_request);
        }
        let now = self.now_ms();
        let delta = request.kind.delta(amount, multiplier);
        let commit = Commit::new(vec![
            Op::InsertTransaction(NewWalletTransaction {
                user_id,
                kind: request.kind,
                amount,
                reference: reference.clone(),
                wagering_multiplier: multiplier,
                now,
            }),
            Op::MoveMoney(MoneyMove {
                user_id,
                kind: request.kind.into(),
                delta,
                order: RowRef::None,
                ad: RowRef::None,
                tx: RowRef::Inserted,
                now,
                refusal: ErrorCode::InsufficientBalance,
            }),
        ])
        .keyed(key);
        let rule = Rule::Transaction {
            kind: request.kind,
            amount,
        };
        match self
            .context
            .change_wallet(user_id, rule, commit, delta)
            .await
        {
            Ok(receipt) => {
                metrics::counter!(crate::telemetry::WALLET_TRANSACTIONS, "kind" => request.kind.as_str())
                    .increment(1);
                let view = TransactionView {
                    id: receipt.first_id(),
                    user_id: user_id.get(),
                    kind: request.kind.as_str().into(),
                    amount: amount.get(),
                    reference,
                    wagering_multiplier: multiplier,
                    created_at: rfc3339(now),
                };
                Ok((view, false))
            }
            Err(refusal) if refusal.code == ErrorCode::DuplicateReference => {
                // The same reference committed between our look-up and our commit.
                match self.store().transaction_by_reference(&reference).await? {
                    Some(first) => replay(first, same_request),
                    None => Err(refusal),
                }
            }
            Err(refusal) => Err(refusal),
        }
    }

    /// The caller's own account: profile, balances, wagering.
    pub async fn me(&self, caller: Caller) -> Result<(User, Wallet), DomainError> {
        let store = self.store();
        let user = store.user(caller.user_id).await?;
        let wallet = store.wallet(caller.user_id).await?;
        match (user, wallet) {
            (Some(user), Some(wallet)) => Ok((user, wallet)),
            _ => Err(ErrorCode::NotFound.into()),
        }
    }

    pub async fn user(&self, id: UserId) -> Result<User, DomainError> {
        self.store()
            .user(id)
            .await?
            .ok_or_else(|| ErrorCode::NotFound.into())
    }
}

fn replay(
    first: Transaction,
    same_request: impl Fn(&Transaction) -> bool,
) -> Result<(TransactionView, bool), DomainError> {
    if same_request(&first) {
        Ok((first.into(), true))
    } else {
        Err(ErrorCode::DuplicateReference.into())
    }
}
