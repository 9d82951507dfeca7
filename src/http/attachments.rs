//! `/api/v1/p2p/orders/{id}/attachments`: files in an order's chat (receipts, statements).

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ApiResult};
use super::extract::{AppQuery, Authenticated, Id, Keyed};
use super::input::fields::Message;
use super::state::AppState;
use crate::domain::attachment::{MAX_ATTACHMENT_BYTES, extension};
use crate::domain::{DomainError, ErrorCode, OrderId};
use crate::views;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(upload))
        .routes(routes!(download))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct UploadParams {
    /// The text of the chat message that carries the file (by default, a line saying what it
    /// is).
    #[param(inline)]
    caption: Option<Message>,
}

refusals!(UploadRefusals: ValidationError, NotFound, PayloadTooLarge, UnsupportedMediaType, AttachmentsLimit, IdempotencyKeyReused);

#[utoipa::path(
    post,
    path = "/api/v1/p2p/orders/{id}/attachments",
    operation_id = "uploadAttachment",
    tag = "orders",
    description = "Puts a file in the order's chat (parties and operators): the raw bytes as the body. PNG, JPEG or PDF only, judged by the bytes (a `Content-Type` that contradicts them is refused too), at most 5 MiB, 20 an order. It is kept with its SHA-256, which names it, and a chat message carries it; the same file twice is kept once.",
    request_body(
        content((Vec<u8> = "image/png"), (Vec<u8> = "image/jpeg"), (Vec<u8> = "application/pdf")),
        description = "The file's bytes"
    ),
    params(("id" = i64, Path, description = "The id"), UploadParams),
    security(("bearer" = [])),
    responses((status = 201, description = "The attachment", body = crate::views::AttachmentView), UploadRefusals)
)]
#[tracing::instrument(skip_all, fields(order_id = id.get()))]
async fn upload(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Keyed(key): Keyed,
    Id(id): Id<OrderId>,
    AppQuery(params): AppQuery<UploadParams>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, Json<views::AttachmentView>)> {
    let bytes = axum::body::to_bytes(body, MAX_ATTACHMENT_BYTES)
        .await
        .map_err(|_| {
            DomainError::new(ErrorCode::PayloadTooLarge, "an attachment is at most 5 MiB")
        })?;
    let declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok());
    let caption = params.caption.map(|c| c.0);
    let attachment = state
        .market
        .attach(
            caller,
            id,
            declared,
            Vec::from(bytes),
            caption.as_deref(),
            key,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(attachment)))
}

refusals!(DownloadRefusals: NotFound);

#[utoipa::path(
    get,
    path = "/api/v1/p2p/orders/{id}/attachments/{sha256}",
    operation_id = "downloadAttachment",
    tag = "orders",
    description = "An attachment's bytes, for the order's parties and operators (to anyone else it does not exist), as a download: `Content-Disposition: attachment`, `X-Content-Type-Options: nosniff`.",
    params(
        ("id" = i64, Path, description = "The id"),
        ("sha256" = String, Path, description = "The attachment's SHA-256, hex")
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The file", content((Vec<u8> = "image/png"), (Vec<u8> = "image/jpeg"), (Vec<u8> = "application/pdf"))),
        DownloadRefusals
    )
)]
#[tracing::instrument(skip_all)]
async fn download(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    path: Result<Path<(i64, String)>, axum::extract::rejection::PathRejection>,
) -> ApiResult<Response> {
    let Ok(Path((id, sha256))) = path else {
        return Err(ApiError(ErrorCode::NotFound.into()));
    };
    let is_digest = sha256.len() == 64 && sha256.bytes().all(|b| b.is_ascii_hexdigit());
    if id <= 0 || !is_digest {
        return Err(ApiError(ErrorCode::NotFound.into()));
    }
    let (attachment, data) = state
        .market
        .attachment(caller, OrderId(id), &sha256)
        .await?;
    let disposition = format!(
        "attachment; filename=\"order-{id}-{}.{}\"",
        &attachment.sha256[..12],
        extension(&attachment.content_type)
    );
    let headers = [
        (header::CONTENT_TYPE, attachment.content_type),
        (header::CONTENT_DISPOSITION, disposition),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        (header::CACHE_CONTROL, "private, no-store".to_owned()),
    ];
    Ok((headers, data).into_response())
}
