//! Black-box tests of the HTTP API: the real router, a real SQLite file per test.

#[macro_use]
mod helpers;

mod attachments;
mod audit;
mod authorization;
mod batch_text;
mod betting;
mod concurrency;
mod contract;
mod crash;
mod dispute_answers;
mod errors;
mod events;
mod evidence;
mod expiry;
mod floating_prices;
mod four_eyes;
mod hardening;
mod harness;
mod market;
mod model;
mod nodes;
mod observability;
mod openapi;
mod payment_methods;
mod prometheus;
mod races;
mod release_deadline;
mod requirements;
mod reviews;
mod track_records;
mod walkthrough;
