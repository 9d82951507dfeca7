//! An ad as the listing holds it, and as a page shows it.

use std::io::Write;
use std::sync::Arc;

use super::capacities::Capacity;
use crate::domain::ad::Ad;
use crate::domain::pricing::PriceType;
use crate::domain::user::Profile;
use crate::domain::{AdId, Kopecks, Millis};
use crate::views::{AdJson, MakerJson};

/// An ad in the read model: its listing fields, its JSON as far as it never changes, and its
/// capacity, which changes in place: the common change (an order taking or returning capacity)
/// moves no index and renders nothing.
pub(super) struct Listed {
    pub(super) ad: Ad,
    pub(super) json: AdJson,
    pub(super) capacity: Capacity,
}

impl Listed {
    #[inline]
    pub(super) fn available(&self) -> Kopecks {
        self.capacity.get()
    }

    /// The ad as it is now.
    pub(super) fn current(&self) -> Ad {
        Ad {
            available_amount: self.available(),
            ..self.ad.clone()
        }
    }

    /// Whether `ad` differs from this entry only in capacity (and the store's counters).
    pub(super) fn same_listing(&self, ad: &Ad) -> bool {
        let mine = &self.ad;
        // A floating ad's price is the index's, computed where it is read.
        let same_price = mine.price == ad.price || ad.price_type == PriceType::Floating;
        mine.status == ad.status
            && same_price
            && mine.min_amount == ad.min_amount
            && mine.max_amount == ad.max_amount
            && mine.total_amount == ad.total_amount
            && mine.payment_methods == ad.payment_methods
            && mine.payment_window_seconds == ad.payment_window_seconds
            && mine.terms == ad.terms
            && mine.maker_id == ad.maker_id
            && mine.ad_type == ad.ad_type
            && mine.fiat_currency == ad.fiat_currency
            && mine.requirements == ad.requirements
            && mine.price_type == ad.price_type
            && mine.premium_bp == ad.premium_bp
    }
}

/// A maker in the read model: their public profile and its JSON as listings last rendered it.
/// A change makes a new one (see [`Maker::edit`]), so a page that holds the old one renders it
/// as it read when the page was taken.
#[derive(Default)]
pub(super) struct Maker {
    profile: Profile,
    json: MakerJson,
}

impl Maker {
    pub(super) fn new(profile: Profile) -> Self {
        Self {
            profile,
            json: MakerJson::default(),
        }
    }

    pub(super) fn profile(&self) -> &Profile {
        &self.profile
    }

    /// The profile to change: its rendered JSON is dropped.
    pub(super) fn edit(&mut self) -> &mut Profile {
        self.json = MakerJson::default();
        &mut self.profile
    }
}

impl Clone for Maker {
    fn clone(&self) -> Self {
        Self::new(self.profile.clone())
    }
}

/// An ad of a listing page: the entry, its capacity when the page was read, and its maker.
pub struct Shown {
    pub(super) listed: Arc<Listed>,
    pub(super) available: Kopecks,
    /// The ad's price when the page was read (a floating ad's follows the index).
    pub(super) price: Kopecks,
    /// Whether the viewer meets the ad's requirements, for a trader's listing.
    pub(super) eligible: Option<bool>,
    pub(super) maker: Arc<Maker>,
}

impl Shown {
    pub fn id(&self) -> AdId {
        self.listed.ad.id
    }

    /// The ad as the page read it.
    pub fn ad(&self) -> Ad {
        Ad {
            price: self.price,
            available_amount: self.available,
            ..self.listed.ad.clone()
        }
    }

    pub fn maker(&self) -> &Profile {
        self.maker.profile()
    }

    /// Appends the ad's JSON with its maker's figures at `now`, the same as serialising
    /// [`crate::views::ad`].
    pub fn write_json(&self, out: &mut Vec<u8>, now: Millis) {
        let capacity = (self.price.get(), self.available.get(), self.eligible);
        let maker = (&self.maker.profile, &self.maker.json);
        self.listed.json.write(out, capacity, maker, now);
    }
}

/// A listing page of ads as `Page<AdView>` renders it (see [`AdJson`]).
pub fn render_page(ads: &[Shown], total: usize, limit: i64, offset: i64, now: Millis) -> Vec<u8> {
    /// Room for one ad with a short name and terms: most pages need no second allocation.
    const AD_BYTES: usize = 1024;
    let mut out = Vec::with_capacity(64 + ads.len() * AD_BYTES);
    out.extend_from_slice(b"{\"items\":[");
    for (i, ad) in ads.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        ad.write_json(&mut out, now);
    }
    // Writing to a Vec cannot fail.
    let _ = write!(
        out,
        r#"],"total":{total},"limit":{limit},"offset":{offset}}}"#
    );
    out
}
