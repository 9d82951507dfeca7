//! Finishing the generated OpenAPI document: the service's description, the bearer scheme, the
//! answers every route may give (`401` and `403` where a token is needed, `413`, `429`, `503`),
//! the links from what a route creates to the routes that act on it, and the bounds that are
//! settings of the running service.

use serde_json::json;
use utoipa::openapi::path::Operation;
use utoipa::openapi::schema::Schema;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ComponentsBuilder, ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder};
use utoipa::{PartialSchema, ToSchema};

use crate::config::Config;
use crate::views::{ErrorBody, ErrorDetail};

/// The links of the document: from the response of an operation that creates something to the
/// operations that use it, each with the values it takes from that response. Stateful clients
/// (and schemathesis's stateful phase) follow them.
const LINKS: &[(&str, &str, &[(&str, &str)])] = &[
    (
        "createAd",
        "201",
        &[
            ("getAd", "path.id"),
            ("updateAd", "path.id"),
            ("closeAd", "path.id"),
            ("createOrder", "body.ad_id"),
        ],
    ),
    (
        "createOrder",
        "201",
        &[
            ("getOrder", "path.id"),
            ("updatePaymentDetails", "path.id"),
            ("confirmPaid", "path.id"),
            ("confirmReceived", "path.id"),
            ("cancelOrder", "path.id"),
            ("callOperator", "path.id"),
            ("getOrderHistory", "path.id"),
            ("listMessages", "path.id"),
            ("postMessage", "path.id"),
            ("rateOrder", "path.id"),
            ("resolveDispute", "path.id"),
        ],
    ),
    (
        "createUser",
        "201",
        &[
            ("getUser", "path.id"),
            ("postTransaction", "path.id"),
            ("blockUser", "path.id"),
            ("unblockUser", "path.id"),
        ],
    ),
    ("createWebhook", "201", &[("deleteWebhook", "path.id")]),
    ("blockUser", "200", &[("unblockUser", "path.id")]),
];

pub fn finish(mut document: OpenApi, config: &Config) -> OpenApi {
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
    add_links(&mut document);
    state_settings(&mut document, config);
    document
}

/// Adds [`LINKS`]: each target takes the created thing's `id` (a block's is `user_id`) as its
/// path's `id`, or as a field of its body.
fn add_links(document: &mut OpenApi) {
    let mut value = serde_json::to_value(&document.paths).unwrap_or_default();
    for (source, status, targets) in LINKS {
        let Some(response) = operation_mut(&mut value, source)
            .and_then(|operation| operation.pointer_mut(&format!("/responses/{status}")))
        else {
            continue;
        };
        let id = if *source == "blockUser" {
            "user_id"
        } else {
            "id"
        };
        let mut links = serde_json::Map::new();
        for (target, into) in *targets {
            let expression = format!("$response.body#/{id}");
            let link = match into.split_once('.') {
                Some(("body", field)) => {
                    json!({"operationId": target, "requestBody": {field: expression}})
                }
                _ => json!({"operationId": target, "parameters": {"path.id": expression}}),
            };
            links.insert((*target).into(), link);
        }
        response["links"] = links.into();
    }
    if let Ok(paths) = serde_json::from_value(value) {
        document.paths = paths;
    }
}

/// The operation with `operation_id`, as JSON.
fn operation_mut<'a>(
    paths: &'a mut serde_json::Value,
    operation_id: &str,
) -> Option<&'a mut serde_json::Value> {
    paths
        .get_mut("paths")?
        .as_object_mut()?
        .values_mut()
        .flat_map(|item| {
            item.as_object_mut()
                .into_iter()
                .flat_map(|i| i.values_mut())
        })
        .find(|operation| operation["operationId"] == operation_id)
}

/// The bounds that are settings of this service rather than rules of the API: the smallest
/// payment window (`P2P_MIN_PAYMENT_WINDOW_SECS`).
fn state_settings(document: &mut OpenApi, config: &Config) {
    let Some(components) = document.components.as_mut() else {
        return;
    };
    let Some(RefOr::T(Schema::Object(body))) = components.schemas.get_mut("CreateAdBody") else {
        return;
    };
    let Some(RefOr::T(window)) = body.properties.get_mut("payment_window_seconds") else {
        return;
    };
    let mut value = serde_json::to_value(&*window).unwrap_or_default();
    let bounded = value
        .pointer_mut("/oneOf")
        .and_then(|alternatives| alternatives.as_array_mut())
        .and_then(|alternatives| alternatives.iter_mut().find(|a| a["type"] == "integer"));
    if let Some(integer) = bounded {
        integer["minimum"] = config.min_payment_window_secs.into();
    }
    if let Ok(schema) = serde_json::from_value(value) {
        *window = schema;
    }
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
            .entry("403".into())
            .or_insert_with(|| error("FORBIDDEN: the token's holder may not use this route"));
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
