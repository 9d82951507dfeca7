//! Changes of ads' capacity as a PostgreSQL fast batch writes them: takes and returns added up
//! by ad, one guarded update for the whole batch, a part of its last statement.

use std::collections::BTreeMap;

use super::deferred::Deferred;
use super::one_statement::Write;
use super::rows::{ROWS, with_rows};
use crate::domain::{AdId, Kopecks};
use crate::store::connection::{DbError, query};
use crate::store::dialect::Dialect;

/// What a batch does to one ad.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct AdSum {
    pub taken: Kopecks,
    /// The terms its takes were judged by (0 if none).
    pub terms: i64,
    pub takes: i64,
    pub returned: Kopecks,
    pub returns: i64,
}

impl AdSum {
    fn changes(&self) -> i64 {
        self.takes + self.returns
    }
}

/// The batch's changes by ad.
pub(super) type ChangesByAd = BTreeMap<AdId, AdSum>;

impl Deferred {
    /// The batch's changes of capacity as one guarded update, each ad's takes and returns added
    /// up. An ad short of its takes' sum (before its returns), no longer active, or judged by
    /// other terms, or a closed ad given a return (whose maker takes the escrow back instead),
    /// fails the batch, which then runs carefully, where each change is judged alone in its
    /// turn. Its rows are the ads changed, `id:version` after the batch.
    pub(super) fn ads_write(ads: &ChangesByAd) -> Option<Write> {
        if ads.is_empty() {
            return None;
        }
        let sql = format!(
            "WITH v(id, taken, terms_version, takes, returned, returns) AS ({ROWS}) \
             UPDATE ads SET available_amount = ads.available_amount - v.taken + v.returned, \
               version = ads.version + v.takes + v.returns \
             FROM v WHERE ads.id = v.id \
               AND (v.takes = 0 OR (ads.status = 'active' \
                 AND ads.terms_version = v.terms_version AND ads.available_amount >= v.taken)) \
               AND (v.returns = 0 OR ads.status <> 'closed')"
        );
        let mut query = query(sql);
        for (ad_id, sum) in ads {
            query = query
                .bind(*ad_id)
                .bind(sum.taken)
                .bind(sum.terms)
                .bind(sum.takes)
                .bind(sum.returned)
                .bind(sum.returns);
        }
        let statement = with_rows(query, 6, Dialect::Postgres);
        Some(Write::all_of(statement, ads.len(), "capacity changes"))
    }

    /// The batch's changes by ad.
    pub(super) fn changes_by_ad(&self) -> Result<ChangesByAd, DbError> {
        let mut ads = ChangesByAd::new();
        for change in &self.ad_changes {
            let sum = ads.entry(change.ad_id).or_default();
            match change.take_terms {
                Some(terms) => {
                    if sum.takes > 0 && sum.terms != terms {
                        return Err(DbError::other("one ad's takes judged by different terms"));
                    }
                    sum.terms = terms;
                    sum.taken = Kopecks(sum.taken.0 + change.amount.0);
                    sum.takes += 1;
                }
                None => {
                    sum.returned = Kopecks(sum.returned.0 + change.amount.0);
                    sum.returns += 1;
                }
            }
        }
        Ok(ads)
    }

    /// Each change's commit place and the ad's version after it, as the change alone would have
    /// left it, from the ads' versions after all the batch's changes (`id:version`).
    pub(super) fn change_versions(
        &self,
        ads: &ChangesByAd,
        versions: &[String],
    ) -> Result<Vec<(usize, i64)>, DbError> {
        let mut last: BTreeMap<i64, i64> = BTreeMap::new();
        for pair in versions {
            let parsed = pair
                .split_once(':')
                .and_then(|(id, version)| Some((id.parse().ok()?, version.parse().ok()?)));
            let (id, version) = parsed.ok_or_else(|| DbError::other("an unreadable ad version"))?;
            last.insert(id, version);
        }
        let mut seen: BTreeMap<AdId, i64> = BTreeMap::new();
        let mut answers = Vec::with_capacity(self.ad_changes.len());
        for change in &self.ad_changes {
            let count = ads[&change.ad_id].changes();
            let final_version = *last
                .get(&change.ad_id.get())
                .ok_or_else(|| DbError::other("an ad's version is missing"))?;
            let nth = seen.entry(change.ad_id).or_insert(0);
            *nth += 1;
            answers.push((change.place, final_version - count + *nth));
        }
        Ok(answers)
    }
}
