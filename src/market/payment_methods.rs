//! A user's saved payment methods, and orders and sell ads that name one.

use serde_json::Value;

use super::ads::{NewAd, require_trader};
use super::orders::NewOrder;
use super::service::Market;
use crate::domain::idempotency::IdempotencyKey;
use crate::domain::payment_method::{MAX_LABEL_CHARS, SavedMethod};
use crate::domain::{Caller, DomainError, ErrorCode, validate};
use crate::store::{Commit, NewSavedMethod, Op};

impl Market {
    /// The methods the caller keeps, oldest first.
    pub async fn saved_methods(&self, caller: Caller) -> Result<Vec<SavedMethod>, DomainError> {
        require_trader(caller)?;
        self.store().saved_methods(caller.user_id).await
    }

    /// Saves a method, its details checked as inline details are; at most 20 a user.
    pub async fn save_method(
        &self,
        caller: Caller,
        method: &str,
        details: &Value,
        label: Option<&str>,
        key: Option<IdempotencyKey>,
    ) -> Result<SavedMethod, DomainError> {
        require_trader(caller)?;
        validate::payment_method(method)?;
        let details = validate::payment_details(details)?;
        let label = match label {
            Some(label) => validate::text("label", label, 0, MAX_LABEL_CHARS)?.to_owned(),
            None => String::new(),
        };
        let now = self.now_ms();
        let receipt = self
            .store()
            .commit(
                Commit::new(vec![
                    // The user's row lock: two saves at once (on any nodes) count one by one.
                    Op::LockUser {
                        user_id: caller.user_id,
                    },
                    Op::SavePaymentMethod(NewSavedMethod {
                        user_id: caller.user_id,
                        method: method.to_owned(),
                        details: details.clone(),
                        label: label.clone(),
                        now,
                    }),
                ])
                .keyed(key),
            )
            .await?;
        Ok(SavedMethod {
            id: receipt.first_id(),
            user_id: caller.user_id,
            method: method.to_owned(),
            details,
            label,
            created_at: now,
        })
    }

    pub async fn delete_method(&self, caller: Caller, id: i64) -> Result<(), DomainError> {
        require_trader(caller)?;
        let now = self.now_ms();
        self.store()
            .commit(Commit::new(vec![Op::DeletePaymentMethod {
                id,
                user_id: caller.user_id,
                now,
            }]))
            .await?;
        Ok(())
    }

    /// The caller's saved method `id`; one that is not theirs (or deleted) is
    /// `INVALID_PAYMENT_METHOD`.
    async fn own_method(&self, caller: Caller, id: i64) -> Result<SavedMethod, DomainError> {
        self.store()
            .saved_method(caller.user_id, id)
            .await?
            .ok_or_else(|| {
                DomainError::new(
                    ErrorCode::InvalidPaymentMethod,
                    "payment_method_id names none of your saved payment methods",
                )
            })
    }

    /// An order that names a saved method, with that method's details inline.
    pub(super) async fn with_saved_details(
        &self,
        caller: Caller,
        mut request: NewOrder,
    ) -> Result<NewOrder, DomainError> {
        if let Some(id) = request.payment_method_id.take() {
            let saved = self.own_method(caller, id).await?;
            if saved.method != request.payment_method {
                return Err(DomainError::new(
                    ErrorCode::InvalidPaymentMethod,
                    format!(
                        "the saved payment method is for {}, not {}",
                        saved.method, request.payment_method
                    ),
                ));
            }
            request.payment_details = Some(Value::Object(saved.details));
        }
        Ok(request)
    }

    /// A sell ad that names a saved method, with that method's details as its details.
    pub(super) async fn ad_with_saved_details(
        &self,
        caller: Caller,
        mut request: NewAd,
    ) -> Result<NewAd, DomainError> {
        if let Some(id) = request.payment_method_id.take() {
            let saved = self.own_method(caller, id).await?;
            let mut per_method = serde_json::Map::new();
            per_method.insert(saved.method, Value::Object(saved.details));
            request.payment_details = Some(Value::Object(per_method));
        }
        Ok(request)
    }
}
