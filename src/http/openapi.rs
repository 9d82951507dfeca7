//! Finishing the generated OpenAPI document: the service's description, the bearer scheme, and
//! the answers every route may give (`401` where a token is needed, `413`, `429`, `503`).

use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ComponentsBuilder, ContentBuilder, OpenApi, Ref, ResponseBuilder};
use utoipa::{PartialSchema, ToSchema};

use crate::views::{ErrorBody, ErrorDetail};

pub fn finish(mut document: OpenApi) -> OpenApi {
    document.info.title = "P2P Market".into();
    document.info.description = Some(
        "A peer-to-peer RUB/USDT market with escrow. Money is integer kopecks; times are RFC 3339 \
         UTC. Every error is `{\"error\": {\"code\", \"message\"}}`. POST routes accept an \
         `Idempotency-Key` header."
            .into(),
    );
    let mut components = document
        .components
        .take()
        .unwrap_or_else(|| ComponentsBuilder::new().build());
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "A user's or operator's token, or the admin token (P2P_ADMIN_TOKEN)",
                ))
                .build(),
        ),
    );
    components
        .schemas
        .insert(ErrorBody::name().into_owned(), ErrorBody::schema());
    components
        .schemas
        .insert(ErrorDetail::name().into_owned(), ErrorDetail::schema());
    document.components = Some(components);
    for item in document.paths.paths.values_mut() {
        for operation in [
            &mut item.get,
            &mut item.post,
            &mut item.patch,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
        {
            add_common_answers(operation);
        }
    }
    document
}

fn error(description: &str) -> utoipa::openapi::RefOr<utoipa::openapi::Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name(ErrorBody::name())))
                .build(),
        )
        .build()
        .into()
}

fn add_common_answers(operation: &mut Operation) {
    let secured = operation
        .security
        .as_ref()
        .is_some_and(|requirements| !requirements.is_empty());
    let responses = &mut operation.responses.responses;
    if secured {
        responses
            .entry("401".into())
            .or_insert_with(|| error("UNAUTHORIZED: no token, or an unknown one"));
        responses
            .entry("429".into())
            .or_insert_with(|| error("RATE_LIMITED: the token is over its rate; see Retry-After"));
    }
    if operation.request_body.is_some() {
        responses
            .entry("413".into())
            .or_insert_with(|| error("PAYLOAD_TOO_LARGE: bodies over 64 KiB"));
    }
    responses
        .entry("503".into())
        .or_insert_with(|| error("OVERLOADED: the service sheds load; see Retry-After"));
}
