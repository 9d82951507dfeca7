//! Takes of ads' capacity as a PostgreSQL fast batch writes them: added up by ad, one guarded
//! update for the whole batch, a part of its one statement.

use std::collections::BTreeMap;

use super::deferred::Deferred;
use super::one_statement::Write;
use super::rows::{ROWS, with_rows};
use crate::domain::{AdId, Kopecks};
use crate::store::connection::{DbError, query};
use crate::store::dialect::Dialect;

/// By ad: the sum of its takes, the terms they were judged by, how many.
pub(super) type TakesByAd = BTreeMap<AdId, (Kopecks, i64, i64)>;

impl Deferred {
    /// The batch's takes of capacity as one guarded update, each ad's takes added up: an ad
    /// short of their sum, no longer active, or judged by other terms fails the batch, which
    /// then runs carefully, where each take is judged alone in its turn. Its rows are the ads
    /// taken, `id:version` after their takes.
    pub(super) fn takes_write(ads: &TakesByAd) -> Option<Write> {
        if ads.is_empty() {
            return None;
        }
        let sql = format!(
            "WITH v(id, amount, terms_version, takes) AS ({ROWS}) \
             UPDATE ads SET available_amount = ads.available_amount - v.amount, \
               version = ads.version + v.takes \
             FROM v WHERE ads.id = v.id AND ads.status = 'active' \
               AND ads.terms_version = v.terms_version AND ads.available_amount >= v.amount"
        );
        let mut query = query(sql);
        for (ad_id, (sum, terms, count)) in ads {
            query = query.bind(*ad_id).bind(*sum).bind(*terms).bind(*count);
        }
        let statement = with_rows(query, 4, Dialect::Postgres);
        Some(Write::all_of(statement, ads.len(), "capacity takes"))
    }

    /// The batch's takes by ad.
    pub(super) fn takes_by_ad(&self) -> Result<TakesByAd, DbError> {
        let mut ads = TakesByAd::new();
        for take in &self.takes {
            let (sum, terms, count) =
                ads.entry(take.ad_id)
                    .or_insert((Kopecks(0), take.terms_version, 0));
            if *terms != take.terms_version {
                return Err(DbError::other("one ad's takes judged by different terms"));
            }
            *sum = Kopecks(sum.0 + take.amount.0);
            *count += 1;
        }
        Ok(ads)
    }

    /// Each take's commit place and the ad's version after it, as a take alone would have left
    /// it, from the ads' versions after all the batch's takes (`id:version`).
    pub(super) fn take_versions(
        &self,
        ads: &TakesByAd,
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
        let mut answers = Vec::with_capacity(self.takes.len());
        for take in &self.takes {
            let count = ads[&take.ad_id].2;
            let final_version = *last
                .get(&take.ad_id.get())
                .ok_or_else(|| DbError::other("an ad's version is missing"))?;
            let nth = seen.entry(take.ad_id).or_insert(0);
            *nth += 1;
            answers.push((take.place, final_version - count + *nth));
        }
        Ok(answers)
    }
}
