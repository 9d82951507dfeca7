//! `GET /api/v1/p2p/events`: Server-Sent Events of the caller's orders and chat (operators:
//! disputed orders), replayable with `Last-Event-ID`.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use serde::Deserialize;
use serde::de::IntoDeserializer;
use serde::de::value::Error as ValueError;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::ApiResult;
use super::extract::{AppQuery, Authenticated};
use super::input::fields::AfterId;
use super::state::AppState;
use crate::config::{EVENT_PAGE, EVENT_STREAM_PENDING_BOUND};
use crate::domain::event::{self, Audience};
use crate::domain::{Caller, DomainError};
use crate::market::Market;
use crate::market::hub::Subscription;
use crate::views;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(stream))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct StreamParams {
    /// For clients that cannot set the header (a browser's first `EventSource` connection).
    #[param(inline)]
    last_event_id: Option<AfterId>,
}

/// The header a reconnecting `EventSource` sends.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)] // Only its description is used: the handler reads the header itself.
struct StreamHeaders {
    /// Replay the events after this one.
    #[param(rename = "Last-Event-ID", inline)]
    last_event_id: Option<AfterId>,
}

/// Where a stream is: replaying from the database, then forwarding live events.
struct Cursor {
    market: Arc<Market>,
    caller: Caller,
    audience: Audience,
    subscription: Subscription,
    /// The newest event sent: nothing at or below it is sent again.
    sent: i64,
    replaying: bool,
    ready: VecDeque<event::Event>,
    /// Live events taken off the channel while other events were still to be sent.
    pending: VecDeque<Arc<event::Event>>,
}

impl Cursor {
    /// The next event to send; `None` ends the stream (the hub cut it off, or it closed).
    async fn next(&mut self) -> Option<Event> {
        loop {
            // Keep the live channel empty while there is anything else to send (a replay, a
            // backlog the pump hands over at once), so the hub only ever finds it full when the
            // client stops reading. What was already sent is dropped at once.
            while let Ok(live) = self.subscription.events.try_recv() {
                if live.id > self.sent {
                    self.pending.push_back(live);
                }
            }
            if self.pending.len() > EVENT_STREAM_PENDING_BOUND {
                return None;
            }
            if let Some(event) = self.ready.pop_front() {
                if event.id <= self.sent {
                    continue;
                }
                self.sent = event.id;
                let data = views::event_for(&event, self.caller);
                return Some(
                    Event::default()
                        .id(event.id.to_string())
                        .event(event.kind.as_str())
                        .data(data.to_string()),
                );
            }
            if self.replaying {
                let page = self
                    .market
                    .events(self.audience, self.sent, EVENT_PAGE)
                    .await
                    .ok()?;
                self.replaying = page.len() as i64 == EVENT_PAGE;
                self.ready.extend(page);
                continue;
            }
            // The replay is done: what arrived live meanwhile follows it, then the channel.
            if let Some(live) = self.pending.pop_front() {
                self.ready.push_back(Arc::unwrap_or_clone(live));
                continue;
            }
            let live = self.subscription.events.recv().await?;
            self.ready.push_back(Arc::unwrap_or_clone(live));
        }
    }
}

/// Where to start: the `Last-Event-ID` header, else the query's `last_event_id`; both read by
/// the same rule.
fn last_event_id(headers: &HeaderMap, query: Option<AfterId>) -> Result<Option<i64>, DomainError> {
    let Some(header) = headers.get("last-event-id") else {
        return Ok(query.map(|id| id.0));
    };
    let id = header
        .to_str()
        .ok()
        .and_then(|text| {
            let text: serde::de::value::StrDeserializer<ValueError> =
                text.trim().into_deserializer();
            AfterId::deserialize(text).ok()
        })
        .ok_or_else(|| DomainError::validation("Last-Event-ID must be an event id"))?;
    Ok(Some(id.0))
}

refusals!(StreamRefusals: ValidationError);

#[utoipa::path(
    get,
    path = "/api/v1/p2p/events",
    operation_id = "streamEvents",
    tag = "events",
    params(StreamParams, StreamHeaders),
    security(("bearer" = [])),
    responses((status = 200, description = "Server-Sent Events: order.created, order.paid, order.completed, order.cancelled, order.expired, order.disputed, order.resolved, order.updated, order.held (to the seller and operators only), order.cleared, message.created; each with an id and the Order or Message as data", content_type = "text/event-stream", body = String), StreamRefusals)
)]
#[tracing::instrument(skip_all)]
async fn stream(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    headers: HeaderMap,
    AppQuery(params): AppQuery<StreamParams>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let from = last_event_id(&headers, params.last_event_id)?;
    let audience = Audience::of(caller);
    // Subscribe before replaying, so an event committed meanwhile is either replayed or
    // received live (and sent once either way).
    let subscription = state.market.subscribe(audience);
    // The newest event committed, read after subscribing: the replay below reads the database
    // past it, so only later events need come live. Without Last-Event-ID the stream starts
    // there.
    let newest = state.market.last_event_id().await?;
    subscription.live_after(newest);
    let start = from.unwrap_or(newest);
    let cursor = Cursor {
        market: state.market.clone(),
        caller,
        audience,
        subscription,
        sent: start,
        replaying: true,
        ready: VecDeque::new(),
        pending: VecDeque::new(),
    };
    let stream = futures_util::stream::unfold(cursor, |mut cursor| async move {
        let event = cursor.next().await?;
        Some((Ok(event), cursor))
    });
    let heartbeat = Duration::from_secs(state.market.config().event_heartbeat_secs.max(1));
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(heartbeat)))
}
