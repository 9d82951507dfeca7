//! Pages of a listing, and lists without paging.

use serde::Serialize;
use utoipa::ToSchema;

/// A page of a listing.
#[derive(Serialize, ToSchema)]
pub struct Page<T: Serialize> {
    pub items: Vec<T>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

/// A list without paging.
#[derive(Serialize, ToSchema)]
pub struct Items<T: Serialize> {
    pub items: Vec<T>,
}
