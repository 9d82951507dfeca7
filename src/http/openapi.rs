//! Finishing the generated OpenAPI document: the service's description, the bearer scheme, the
//! answers every route may give (`401` and `403` where a token is needed, `413`, `429`, `503`),
//! the links from what a route creates to the routes that act on it, and the bounds that are
//! settings of the running service.

use serde_json::{Value, json};
use utoipa::openapi::Required;
use utoipa::openapi::path::{Operation, Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ComponentsBuilder, ContentBuilder, OpenApi, Ref, ResponseBuilder};
use utoipa::{PartialSchema, ToSchema};

use crate::config::{Config, IDEMPOTENCY_KEY_PATTERN, MAX_IDEMPOTENCY_KEY_LEN};
use crate::views::{ErrorBody, ErrorDetail};

/// Where a link puts the id of what its source created.
#[derive(Clone, Copy)]
enum Target {
    /// The target's path `id`.
    Path,
    /// A field of the target's body.
    Body(&'static str),
}

use Target::{Body, Path};

/// The links from one operation's answer to the operations that use what it created.
struct Links {
    source: &'static str,
    status: &'static str,
    targets: &'static [(&'static str, Target)],
}

/// The links of the document. Stateful clients (and schemathesis's stateful phase) follow them.
const LINKS: &[Links] = &[
    Links {
        source: "createAd",
        status: "201",
        targets: &[
            ("getAd", Path),
            ("updateAd", Path),
            ("closeAd", Path),
            ("createOrder", Body("ad_id")),
        ],
    },
    Links {
        source: "createOrder",
        status: "201",
        targets: &[
            ("getOrder", Path),
            ("updatePaymentDetails", Path),
            ("confirmPaid", Path),
            ("confirmReceived", Path),
            ("cancelOrder", Path),
            ("callOperator", Path),
            ("getOrderHistory", Path),
            ("listMessages", Path),
            ("postMessage", Path),
            ("rateOrder", Path),
            ("resolveDispute", Path),
        ],
    },
    Links {
        source: "createUser",
        status: "201",
        targets: &[
            ("getUser", Path),
            ("postTransaction", Path),
            ("blockUser", Path),
            ("unblockUser", Path),
        ],
    },
    Links {
        source: "createWebhook",
        status: "201",
        targets: &[("deleteWebhook", Path)],
    },
    Links {
        source: "blockUser",
        status: "200",
        targets: &[("unblockUser", Path)],
    },
];

/// The document to serve, as JSON.
pub fn finish(mut document: OpenApi, config: &Config) -> Value {
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
    operations(&mut document).for_each(add_common_answers);
    for item in document.paths.paths.values_mut() {
        if let Some(post) = item.post.as_mut() {
            post.parameters
                .get_or_insert_with(Vec::new)
                .push(idempotency_key());
            post.responses
                .responses
                .entry("400".into())
                .or_insert_with(|| error("VALIDATION_ERROR: a malformed Idempotency-Key"));
        }
    }
    let mut document = serde_json::to_value(&document).unwrap_or_default();
    add_links(&mut document);
    state_settings(&mut document, config);
    one_or_the_other(&mut document);
    document
}

/// A body that may name a saved payment method or give its details inline takes one or the
/// other, never both (a `null` counts as absent): said in the schema, so the `400` it gets is a
/// request that breaks the document.
fn one_or_the_other(document: &mut Value) {
    for body in ["CreateOrderBody", "CreateAdBody"] {
        if let Some(schema) = document
            .pointer_mut(&format!("/components/schemas/{body}"))
            .and_then(Value::as_object_mut)
        {
            let present = json!({"not": {"type": "null"}});
            schema.insert(
                "not".into(),
                json!({
                    "required": ["payment_details", "payment_method_id"],
                    "properties": {"payment_details": present, "payment_method_id": present},
                }),
            );
        }
    }
}

/// Adds [`LINKS`], to the document as JSON (utoipa writes a link's fields in snake case):
/// each target takes the created thing's `id` (a block's is `user_id`) as its path's `id`, or
/// as a field of its body.
fn add_links(document: &mut Value) {
    for links in LINKS {
        let id = if links.source == "blockUser" {
            "user_id"
        } else {
            "id"
        };
        let expression = format!("$response.body#/{id}");
        let targets: serde_json::Map<String, Value> = links
            .targets
            .iter()
            .map(|(target, into)| {
                let link = match into {
                    Body(field) => {
                        json!({"operationId": target, "requestBody": {*field: expression}})
                    }
                    Path => json!({"operationId": target, "parameters": {"path.id": expression}}),
                };
                ((*target).to_string(), link)
            })
            .collect();
        let response = document["paths"]
            .as_object_mut()
            .into_iter()
            .flat_map(|paths| paths.values_mut())
            .filter_map(|item| item.as_object_mut())
            .flat_map(|item| item.values_mut())
            .find(|operation| operation["operationId"] == links.source)
            .and_then(|operation| operation.pointer_mut(&format!("/responses/{}", links.status)));
        if let Some(response) = response {
            response["links"] = Value::Object(targets);
        }
    }
}

/// Every operation of the document.
fn operations(document: &mut OpenApi) -> impl Iterator<Item = &mut Operation> {
    document.paths.paths.values_mut().flat_map(|item| {
        [
            &mut item.get,
            &mut item.post,
            &mut item.patch,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
    })
}

/// The bounds that are settings of this service rather than rules of the API: the smallest
/// payment window (`P2P_MIN_PAYMENT_WINDOW_SECS`) and the release window's bounds.
fn state_settings(document: &mut Value, config: &Config) {
    let mut bound = |field: &str, minimum: i64, maximum: Option<i64>| {
        let path = format!("/components/schemas/CreateAdBody/properties/{field}/oneOf");
        let integer = document
            .pointer_mut(&path)
            .and_then(Value::as_array_mut)
            .and_then(|alternatives| alternatives.iter_mut().find(|a| a["type"] == "integer"));
        if let Some(integer) = integer {
            integer["minimum"] = minimum.into();
            if let Some(maximum) = maximum {
                integer["maximum"] = maximum.into();
            }
        }
    };
    bound(
        "payment_window_seconds",
        config.min_payment_window_secs,
        None,
    );
    let release = (
        config.min_release_window_secs,
        config.max_release_window_secs,
    );
    bound("release_window_seconds", release.0, Some(release.1));
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

/// The `Idempotency-Key` header every `POST` takes (`http::idempotency` checks it).
fn idempotency_key() -> Parameter {
    let schema = ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(MAX_IDEMPOTENCY_KEY_LEN))
        .pattern(Some(IDEMPOTENCY_KEY_PATTERN));
    ParameterBuilder::new()
        .name("Idempotency-Key")
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(
            "Runs the request at most once: a retry with the same key and request replays the \
             first answer; another request under the key is 409 IDEMPOTENCY_KEY_REUSED",
        ))
        .schema(Some(schema))
        .build()
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
