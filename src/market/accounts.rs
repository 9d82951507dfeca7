//! Users, tokens and the platform's wallet transactions.

use super::service::{Market, new_token, token_hash};
use crate::actors::protocol::Rule;
use crate::domain::UserId;
use crate::domain::idempotency::IdempotencyKey;
use crate::domain::restriction::Restriction;
use crate::domain::user::User;
use crate::domain::wallet::Transaction;
use crate::domain::wallet::{
    DEFAULT_WAGERING_MULTIPLIER, MAX_WAGERING_MULTIPLIER, TransactionKind, Wallet,
};
use crate::domain::{Caller, DomainError, ErrorCode, Millis, Role, validate};
use crate::store::{Commit, MoneyMove, NewUser, NewWalletTransaction, Op, RowRef};
use crate::views::TransactionView;

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
        let now = self.now_ms();
        let receipt = self
            .store()
            .commit(
                Commit::new(vec![Op::InsertUser(NewUser {
                    name: name.clone(),
                    role,
                    token_hash: token_hash(&token),
                    now,
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
            track: Default::default(),
            created_at: now,
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
        let posted = parse_transaction(user_id, request, self.now_ms())?;
        if let Some(first) = self
            .store()
            .transaction_by_reference(&posted.reference)
            .await?
        {
            return replay(first, &posted);
        }
        let delta = posted.kind.delta(posted.amount, posted.wagering_multiplier);
        let commit = Commit::new(vec![
            Op::InsertTransaction(posted.clone()),
            Op::MoveMoney(MoneyMove {
                user_id,
                kind: posted.kind.into(),
                delta,
                order: RowRef::None,
                ad: RowRef::None,
                tx: RowRef::Inserted,
                now: posted.now,
                refusal: ErrorCode::InsufficientBalance,
            }),
        ])
        .keyed(key);
        let rule = Rule::Transaction {
            kind: posted.kind,
            amount: posted.amount,
        };
        match self
            .context
            .change_wallet(user_id, rule, commit, delta)
            .await
        {
            Ok(receipt) => {
                metrics::counter!(crate::telemetry::WALLET_TRANSACTIONS, "kind" => posted.kind.as_str())
                    .increment(1);
                Ok((committed(receipt.first_id(), posted).into(), false))
            }
            Err(refusal) if refusal.code == ErrorCode::DuplicateReference => {
                // The same reference committed between our look-up and our commit.
                match self
                    .store()
                    .transaction_by_reference(&posted.reference)
                    .await?
                {
                    Some(first) => replay(first, &posted),
                    None => Err(refusal),
                }
            }
            Err(refusal) => Err(refusal),
        }
    }

    /// The caller's own account: profile, balances, wagering.
    /// The caller, their wallet and the restriction that holds on them now, if any.
    pub async fn me(
        &self,
        caller: Caller,
    ) -> Result<(User, Wallet, Option<Restriction>), DomainError> {
        let store = self.store();
        let user = store.user(caller.user_id).await?;
        let wallet = store.wallet(caller.user_id).await?;
        match (user, wallet) {
            (Some(user), Some(wallet)) => {
                let user = self.with_seen(user);
                Ok((user, wallet, self.restriction(caller.user_id).await?))
            }
            _ => Err(ErrorCode::NotFound.into()),
        }
    }

    pub async fn user(&self, id: UserId) -> Result<User, DomainError> {
        let user = self.store().user(id).await?;
        user.map(|user| self.with_seen(user))
            .ok_or_else(|| ErrorCode::NotFound.into())
    }
}

/// The platform's request as a transaction the store can post.
fn parse_transaction(
    user_id: UserId,
    request: NewTransaction,
    now: Millis,
) -> Result<NewWalletTransaction, DomainError> {
    let amount = validate::amount("amount", request.amount)?;
    let reference = validate::text(
        "reference",
        &request.reference,
        1,
        validate::MAX_REFERENCE_CHARS,
    )?;
    let wagering_multiplier = request
        .wagering_multiplier
        .unwrap_or(DEFAULT_WAGERING_MULTIPLIER);
    if !(0..=MAX_WAGERING_MULTIPLIER).contains(&wagering_multiplier) {
        return Err(DomainError::validation(format!(
            "wagering_multiplier must be 0 to {MAX_WAGERING_MULTIPLIER}"
        )));
    }
    Ok(NewWalletTransaction {
        user_id,
        kind: request.kind,
        amount,
        reference,
        wagering_multiplier,
        now,
    })
}

/// The transaction as committed with `id`.
fn committed(id: i64, posted: NewWalletTransaction) -> Transaction {
    Transaction {
        id,
        user_id: posted.user_id,
        kind: posted.kind,
        amount: posted.amount,
        reference: posted.reference,
        wagering_multiplier: posted.wagering_multiplier,
        created_at: posted.now,
    }
}

/// The first transaction under a reference answers a repeat of the same request (`replayed`),
/// and refuses another.
fn replay(
    first: Transaction,
    posted: &NewWalletTransaction,
) -> Result<(TransactionView, bool), DomainError> {
    let same_request = first.user_id == posted.user_id
        && first.kind == posted.kind
        && first.amount == posted.amount
        && first.wagering_multiplier == posted.wagering_multiplier;
    if same_request {
        Ok((first.into(), true))
    } else {
        Err(ErrorCode::DuplicateReference.into())
    }
}
