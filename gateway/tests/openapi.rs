//! The OpenAPI document served at `/openapi.json`, checked against the router that serves it,
//! called in this process on the embedded store:
//!
//! - the document is OpenAPI 3.1 and holds together: every `$ref` resolves, every path parameter
//!   is declared, every `/v1` operation requires the bearer scheme, every operationId is unique;
//! - it lists exactly the service's operations, and the gateway registers routes only through
//!   `routes!`, from handlers that carry their `#[utoipa::path]`, so no route goes undocumented;
//! - every documented operation is served: called without a key, it answers one of its
//!   documented statuses (401 for `/v1`), never the router's fallback 404 or 405;
//! - called as a tenant, every answer has a documented status and a body of the documented
//!   schema, and every operation succeeds at least once.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, header};
use jiff::Timestamp;
use ratewire_core::{ChannelId, Event, RecipientId, Scale, SurveyId, TenantId};
use ratewire_gateway::cli::serve;
use ratewire_gateway::cli::settings::{DashboardSettings, OutboundSettings, Settings, TenantSettings, WebhookSettings};
use ratewire_gateway::flow::{contacts, surveys};
use ratewire_gateway::http::auth;
use ratewire_gateway::http::{self, AppState};
use serde_json::{Value, json};
use tower::ServiceExt;

/// Every operation the service has. A route added to the router adds an operation to the
/// document, and must be added here too.
const OPERATIONS: &[(&str, &str)] = &[
    ("GET", "/"),
    ("POST", "/api/understand"),
    ("GET", "/dashboard"),
    ("GET", "/dashboard/login"),
    ("POST", "/dashboard/login"),
    ("POST", "/dashboard/logout"),
    ("POST", "/dashboard/logout-everywhere"),
    ("GET", "/healthz"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
    ("GET", "/readyz"),
    ("GET", "/v1/channels"),
    ("POST", "/v1/channels"),
    ("GET", "/v1/channels/{id}"),
    ("PATCH", "/v1/channels/{id}"),
    ("DELETE", "/v1/channels/{id}"),
    ("DELETE", "/v1/dashboard/sessions"),
    ("GET", "/v1/configs"),
    ("POST", "/v1/configs"),
    ("GET", "/v1/configs/{id}"),
    ("GET", "/v1/contacts/{channel}/{recipient}"),
    ("GET", "/v1/reports/prechat"),
    ("PUT", "/v1/configs/{id}"),
    ("POST", "/v1/conversations"),
    ("GET", "/v1/conversations/{id}"),
    ("POST", "/v1/conversations/{id}/events"),
    ("GET", "/v1/deliveries"),
    ("GET", "/v1/endpoints"),
    ("POST", "/v1/endpoints"),
    ("DELETE", "/v1/endpoints/{id}"),
    ("GET", "/v1/unsubscribes"),
    ("DELETE", "/v1/unsubscribes/{address}"),
    ("POST", "/v1/invitations"),
    ("GET", "/v1/reports"),
    ("GET", "/v1/reports/ratings.csv"),
    ("GET", "/v1/surveys"),
    ("GET", "/v1/surveys/{id}"),
    ("GET", "/widget.js"),
    ("GET", "/widget/ws"),
    ("GET", "/hooks/{tenant}/{channel}"),
    ("POST", "/hooks/{tenant}/{channel}"),
    ("GET", "/email/{tenant}/{channel}/rate/{token}"),
    ("POST", "/email/{tenant}/{channel}/rate/{token}"),
    ("GET", "/email/{tenant}/{channel}/reason/{token}"),
    ("POST", "/email/{tenant}/{channel}/reason/{token}"),
    ("GET", "/email/{tenant}/{channel}/survey/{token}"),
    ("POST", "/email/{tenant}/{channel}/survey/{token}"),
    ("GET", "/email/{tenant}/{channel}/unsubscribe/{token}"),
    ("POST", "/email/{tenant}/{channel}/unsubscribe/{token}"),
];

/// The body limit of the service under test: small, so a test can exceed it cheaply.
const BODY_LIMIT: usize = 4096;

/// The service in this process, called through its router.
struct Service {
    router: Router,
    state: AppState,
    key: String,
    /// The document, as `/openapi.json` serves it.
    document: Value,
    /// The operations that have answered with a success.
    succeeded: Mutex<BTreeSet<(String, String)>>,
}

/// An answer, read in full.
struct Answer {
    status: u16,
    content_type: Option<String>,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl Service {
    /// The service with one tenant, `acme`, on the embedded store; no background workers, so
    /// event deliveries stay pending.
    async fn start() -> Service {
        let key = auth::new_key();
        let settings = Settings {
            listen: "127.0.0.1:0".into(),
            public_url: Some("http://ratewire.test".into()),
            redis_url: None,
            body_limit_bytes: BODY_LIMIT,
            email_body_limit_bytes: BODY_LIMIT,
            api_requests_per_second: 100_000,
            demo: Some(false),
            tenants: vec![TenantSettings {
                id: "acme".into(),
                name: None,
                api_key_hashes: vec![format!("sha256:{}", auth::digest(&key))],
            }],
            webhooks: WebhookSettings::default(),
            dashboard: DashboardSettings::default(),
            // The endpoint below is on loopback (and never posted to).
            outbound: OutboundSettings { allow: vec!["127.0.0.1".into()], ..OutboundSettings::default() },
            ..Settings::default()
        }
        .check()
        .unwrap_or_else(|e| panic!("the test settings are valid: {e}"));
        let state = serve::state(settings).await.unwrap_or_else(|e| panic!("the service starts: {e}"));
        let mut service = Service {
            router: http::router(state.clone()),
            state,
            key,
            document: Value::Null,
            succeeded: Mutex::default(),
        };
        let answer = service.call(Method::GET, "/openapi.json", false, None).await;
        assert_eq!(answer.status, 200, "{}", answer.text());
        assert_eq!(answer.content_type.as_deref(), Some("application/json"));
        service.document = serde_json::from_slice(&answer.body).expect("the document is JSON");
        service
    }

    /// Calls the router, with the tenant's key or none, and a body with its content type.
    async fn call(&self, method: Method, path: &str, with_key: bool, body: Option<(&str, Vec<u8>)>) -> Answer {
        let mut request = Request::builder().method(method).uri(path);
        if with_key {
            request = request.header(header::AUTHORIZATION, format!("Bearer {}", self.key));
        }
        let (content_type, bytes) = body.unwrap_or(("", Vec::new()));
        if !content_type.is_empty() {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        self.send(request.body(Body::from(bytes)).expect("a valid request")).await
    }

    /// Sends a request to the router; the answer read in full.
    async fn send(&self, request: Request<Body>) -> Answer {
        let response = self.router.clone().oneshot(request).await.expect("the router answers");
        let status = response.status().as_u16();
        let content_type =
            response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("a readable body").to_vec();
        Answer { status, content_type, headers, body }
    }

    /// Calls the operation `method template` as the tenant at `path` (the template with its
    /// parameters filled in), with a JSON body or none; checks the answer against the document
    /// and that its status is `status`; returns its JSON body.
    #[track_caller]
    fn expect(
        &self,
        method: &str,
        template: &str,
        path: &str,
        body: Option<Value>,
        status: u16,
    ) -> impl Future<Output = Value> + '_ {
        let caller = std::panic::Location::caller();
        let (method, template, path) = (method.to_owned(), template.to_owned(), path.to_owned());
        async move {
            let body = body.map(|b| ("application/json", b.to_string().into_bytes()));
            let http_method = Method::from_bytes(method.as_bytes()).expect("a method");
            let answer = self.call(http_method, &path, true, body).await;
            self.check(&method, &template, &answer).unwrap_or_else(|e| panic!("{caller}: {method} {path}: {e}"));
            assert_eq!(answer.status, status, "{caller}: {method} {path}: {}", answer.text());
            answer.json()
        }
    }

    /// Whether the answer is one the document gives for the operation: a listed status, one of
    /// the listed content types, and a JSON body of the listed schema. Notes a success.
    fn check(&self, method: &str, template: &str, answer: &Answer) -> Result<(), String> {
        let operation = self.document["paths"][template]
            .get(method.to_lowercase())
            .ok_or_else(|| format!("{method} {template} is not documented"))?;
        let response = operation["responses"]
            .get(answer.status.to_string())
            .ok_or_else(|| format!("status {} is not documented: {}", answer.status, answer.text()))?;
        let response = resolve(&self.document, response);
        match response.get("content").and_then(Value::as_object) {
            None if answer.body.is_empty() => {}
            None => return Err(format!("{} has a body, the document none: {}", answer.status, answer.text())),
            Some(content) => {
                let essence = |media: &str| media.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
                let given = essence(answer.content_type.as_deref().unwrap_or_default());
                let (_, media) = content
                    .iter()
                    .find(|(documented, _)| essence(documented) == given)
                    .ok_or_else(|| format!("{} answered {given}, documented {:?}", answer.status, content.keys()))?;
                if given == "application/json" {
                    let value: Value = serde_json::from_slice(&answer.body)
                        .map_err(|e| format!("{} is not JSON ({e}): {}", answer.status, answer.text()))?;
                    conforms(&self.document, &media["schema"], &value, "body")
                        .map_err(|e| format!("{}: {e}\nin {value}", answer.status))?;
                }
            }
        }
        // A form's post succeeds with a 303 to the page that follows (the dashboard's login).
        if (200..300).contains(&answer.status) || answer.status == 303 {
            self.succeeded.lock().unwrap().insert((method.to_owned(), template.to_owned()));
        }
        Ok(())
    }
}

/// The target of a `$ref` (`#/components/…`), or the item itself when it is none.
fn resolve<'a>(document: &'a Value, item: &'a Value) -> &'a Value {
    match item.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let target = reference.strip_prefix('#').and_then(|pointer| document.pointer(pointer));
            resolve(document, target.unwrap_or_else(|| panic!("unresolved {reference}")))
        }
        None => item,
    }
}

/// Whether `value` satisfies `schema`, for the JSON Schema keywords the document uses.
/// `oneOf` is strict: exactly one branch may match, as a validator would insist.
fn conforms(document: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    let schema = resolve(document, schema);
    if let Some(types) = schema.get("type") {
        let types: Vec<&str> = match types {
            Value::Array(types) => types.iter().filter_map(Value::as_str).collect(),
            other => other.as_str().into_iter().collect(),
        };
        let fits = |kind: &str| match kind {
            "null" => value.is_null(),
            "boolean" => value.is_boolean(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "string" => value.is_string(),
            "array" => value.is_array(),
            "object" => value.is_object(),
            _ => false,
        };
        if !types.iter().any(|kind| fits(kind)) {
            return Err(format!("{at}: {value} is not of type {types:?}"));
        }
    }
    if let Some(choices) = schema.get("enum").and_then(Value::as_array)
        && !choices.contains(value)
    {
        return Err(format!("{at}: {value} is not one of {choices:?}"));
    }
    if let (Some(minimum), Some(number)) = (schema.get("minimum").and_then(Value::as_f64), value.as_f64())
        && number < minimum
    {
        return Err(format!("{at}: {number} is below {minimum}"));
    }
    if let Some(text) = value.as_str() {
        let length = text.chars().count() as u64;
        if schema.get("minLength").and_then(Value::as_u64).is_some_and(|min| length < min)
            || schema.get("maxLength").and_then(Value::as_u64).is_some_and(|max| length > max)
        {
            return Err(format!("{at}: {value} has a length out of bounds"));
        }
        match schema.get("format").and_then(Value::as_str) {
            Some("date-time") if text.parse::<Timestamp>().is_err() => {
                return Err(format!("{at}: {value} is not an RFC 3339 timestamp"));
            }
            Some("date") if text.parse::<jiff::civil::Date>().is_err() => {
                return Err(format!("{at}: {value} is not a date"));
            }
            _ => {}
        }
    }
    for branch in schema.get("allOf").and_then(Value::as_array).into_iter().flatten() {
        conforms(document, branch, value, at)?;
    }
    if let Some(branches) = schema.get("oneOf").and_then(Value::as_array) {
        let results: Vec<Result<(), String>> =
            branches.iter().map(|branch| conforms(document, branch, value, at)).collect();
        let matched = results.iter().filter(|result| result.is_ok()).count();
        if matched != 1 {
            let errors: Vec<String> = results.into_iter().filter_map(Result::err).collect();
            return Err(format!("{at}: {value} matches {matched} branches of oneOf, not 1: {errors:?}"));
        }
    }
    if let Some(object) = value.as_object() {
        for required in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
            let name = required.as_str().unwrap_or_default();
            if !object.contains_key(name) {
                return Err(format!("{at}: `{name}` is required"));
            }
        }
        let properties = schema.get("properties").and_then(Value::as_object);
        for (name, item) in object {
            let at = format!("{at}.{name}");
            if let Some(names) = schema.get("propertyNames") {
                conforms(document, names, &Value::String(name.clone()), &format!("{at} (its name)"))?;
            }
            match (properties.and_then(|p| p.get(name)), schema.get("additionalProperties")) {
                (Some(property), _) => conforms(document, property, item, &at)?,
                (None, Some(Value::Bool(false))) => return Err(format!("{at} is not a property of the schema")),
                (None, Some(additional)) if additional.is_object() => conforms(document, additional, item, &at)?,
                (None, _) => {}
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (i, item) in array.iter().enumerate() {
            conforms(document, items, item, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
}

/// Every `(METHOD, path)` the document lists.
fn operations(document: &Value) -> BTreeSet<(String, String)> {
    let mut found = BTreeSet::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("a path item").keys() {
            found.insert((method.to_uppercase(), path.clone()));
        }
    }
    found
}

/// A path with each `{parameter}` filled in with `x`.
fn example_path(template: &str) -> String {
    let mut path = String::new();
    let mut rest = template;
    while let Some((before, after)) = rest.split_once('{') {
        path.push_str(before);
        rest = after.split_once('}').map_or("", |(_, after)| after);
        path.push('x');
    }
    path + rest
}

/// Every `$ref` anywhere in `value`.
fn references<'a>(value: &'a Value, found: &mut Vec<&'a str>) {
    match value {
        Value::Object(object) => {
            for (key, item) in object {
                match (key.as_str(), item.as_str()) {
                    ("$ref", Some(reference)) => found.push(reference),
                    _ => references(item, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| references(item, found)),
        _ => {}
    }
}

#[tokio::test]
async fn the_document_is_openapi_3_1_and_holds_together() {
    let service = Service::start().await;
    let document = &service.document;
    assert!(document["openapi"].as_str().is_some_and(|v| v.starts_with("3.1.")), "{}", document["openapi"]);
    assert_eq!(document["info"]["title"], "ratewire");
    assert_eq!(document["info"]["version"], env!("CARGO_PKG_VERSION"));
    assert!(document["info"]["description"].as_str().is_some_and(|d| !d.is_empty()));
    // What is served is what the code generates.
    assert_eq!(*document, serde_json::to_value(http::openapi()).unwrap());

    let mut found = Vec::new();
    references(document, &mut found);
    assert!(!found.is_empty());
    for reference in found {
        let target = reference.strip_prefix('#').and_then(|pointer| document.pointer(pointer));
        assert!(target.is_some(), "{reference} does not resolve");
    }

    assert_eq!(
        document["components"]["securitySchemes"]["session"],
        json!({ "type": "apiKey", "in": "cookie", "name": "ratewire_session", "description": "The reports dashboard's session, set by `POST /dashboard/login`; named `__Host-ratewire_session` when `public_url` is https" })
    );
    assert_eq!(
        document["components"]["securitySchemes"]["bearer"],
        json!({ "type": "http", "scheme": "bearer", "description": "A tenant's API key (`rw_…`), as `Authorization: Bearer <key>`" })
    );
    let error_body = &document["components"]["schemas"]["ErrorBody"];
    assert_eq!(error_body["required"], json!(["error"]));
    // Generated clients name a method after each operationId: every operation has its own.
    let mut named = std::collections::BTreeMap::new();
    for (method, path) in operations(document) {
        let id = document["paths"][&path][method.to_lowercase()]["operationId"].as_str().unwrap_or_default().to_owned();
        assert!(!id.is_empty(), "{method} {path}: no operationId");
        if let Some(other) = named.insert(id.clone(), format!("{method} {path}")) {
            panic!("operationId {id} names both {other} and {method} {path}");
        }
    }
    for (method, path) in operations(document) {
        let operation = &document["paths"][&path][method.to_lowercase()];
        let name = format!("{method} {path}");
        let responses = operation["responses"].as_object().unwrap();
        let success = |status: &String| status.starts_with('2') || status == "101" || status == "303";
        assert!(responses.keys().any(success), "{name}: no success");
        // Each `{parameter}` of the path is declared as a path parameter, and nothing more.
        let declared: BTreeSet<&str> = operation["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == "path")
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        let in_path: BTreeSet<&str> = path.split('{').skip(1).map(|part| part.split_once('}').unwrap().0).collect();
        assert_eq!(declared, in_path, "{name}: path parameters");
        // The `/v1` API needs a key, and says so; nothing else does. The report reads also take the
        // dashboard's session cookie.
        if path.starts_with("/v1/reports") {
            assert_eq!(operation["security"], json!([{ "bearer": [] }, { "session": [] }]), "{name}");
        } else if path.starts_with("/v1/") {
            assert_eq!(operation["security"], json!([{ "bearer": [] }]), "{name}");
        }
        if path.starts_with("/v1/") {
            for status in ["401", "429", "503"] {
                assert!(responses.contains_key(status), "{name}: no {status} documented");
            }
        } else {
            assert!(operation.get("security").is_none(), "{name} needs no key");
        }
        // Every error the API answers in its format names the shared error body.
        for (status, response) in responses {
            let response = resolve(document, response);
            if let Some(json) = response["content"].get("application/json")
                && (status.starts_with('4') || status.starts_with('5'))
                && !path.starts_with("/api/")
            {
                assert_eq!(json["schema"]["$ref"], "#/components/schemas/ErrorBody", "{name} {status}");
            }
        }
    }
}

#[tokio::test]
async fn the_document_lists_every_route_and_only_those() {
    let service = Service::start().await;
    let expected: BTreeSet<(String, String)> =
        OPERATIONS.iter().map(|(method, path)| ((*method).to_owned(), (*path).to_owned())).collect();
    assert_eq!(operations(&service.document), expected);

    // Routes get into the router only through `routes!`, whose handlers document themselves: a
    // route added any other way would be served without being documented.
    let mut files = vec![PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")];
    let mut sources = 0;
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|entry| entry.unwrap().path()));
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            sources += 1;
            let source = std::fs::read_to_string(&path).unwrap();
            let name = path.strip_prefix(Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap().display().to_string();
            for call in [".route(", ".route_service(", ".nest(", ".nest_service(", ".fallback(", "Router::new("] {
                assert!(
                    !source.contains(call),
                    "{name} adds a route with `{call}`: use `routes!` and `#[utoipa::path]`"
                );
            }
        }
    }
    assert!(sources > 10, "the gateway's sources are where this test expects them");
}

#[tokio::test]
async fn every_documented_operation_is_served() {
    let service = Service::start().await;
    // What the router answers for a route it doesn't have: no body, unlike the API's errors.
    for (method, path) in [(Method::GET, "/v1/nothing"), (Method::DELETE, "/healthz")] {
        let answer = service.call(method, path, false, None).await;
        assert!(matches!(answer.status, 404 | 405) && answer.body.is_empty(), "{path}: {}", answer.status);
    }

    for (method, template) in operations(&service.document) {
        let operation = &service.document["paths"][&template][method.to_lowercase()];
        let body = operation["requestBody"]["content"].as_object().map(|content| {
            if content.contains_key("application/json") {
                ("application/json", b"{}".to_vec())
            } else {
                ("text/plain", br#"{"text": "5 stars"}"#.to_vec())
            }
        });
        let path = example_path(&template);
        let answer = service.call(Method::from_bytes(method.as_bytes()).unwrap(), &path, false, body).await;
        let name = format!("{method} {path}");
        assert!(
            !(matches!(answer.status, 404 | 405) && answer.body.is_empty()),
            "{name}: the router has no such route ({})",
            answer.status
        );
        service.check(&method, &template, &answer).unwrap_or_else(|e| panic!("{name}: {e}"));
        if template.starts_with("/v1/") {
            assert_eq!(answer.status, 401, "{name} without a key");
            assert_eq!(answer.json()["error"]["code"], "unauthorized", "{name}");
        }
    }
}

#[tokio::test]
async fn answers_are_of_the_documented_schemas() {
    let svc = Service::start().await;

    // Configurations.
    let config = json!({
        "low_rating_reasons": ["slow"],
        "labels": { "1": "Awful" },
        "auto_invite": { "min_characters": 10 },
        "content": { "es": { "thank_you": "¡Gracias!", "labels": { "1": "Fatal" }, "reasons": { "slow": "Lento" } } },
    });
    let created = svc
        .expect(
            "POST",
            "/v1/configs",
            "/v1/configs",
            Some(json!({ "id": "support", "name": "Support", "config": config })),
            201,
        )
        .await;
    svc.expect("GET", "/v1/configs", "/v1/configs", None, 200).await;
    svc.expect("GET", "/v1/configs/{id}", "/v1/configs/support", None, 200).await;
    let change = json!({ "name": "Support desk", "config": config, "revision": created["revision"] });
    svc.expect("PUT", "/v1/configs/{id}", "/v1/configs/support", Some(change.clone()), 200).await;
    svc.expect("PUT", "/v1/configs/{id}", "/v1/configs/support", Some(change), 409).await;
    svc.expect("POST", "/v1/configs", "/v1/configs", Some(json!({ "id": "support", "name": "Again" })), 409).await;
    svc.expect("POST", "/v1/configs", "/v1/configs", Some(json!({ "name": "" })), 422).await;
    svc.expect("GET", "/v1/configs/{id}", "/v1/configs/none", None, 404).await;
    let large = json!({ "name": "x".repeat(BODY_LIMIT) });
    svc.expect("POST", "/v1/configs", "/v1/configs", Some(large), 413).await;
    let not_json = svc.call(Method::POST, "/v1/configs", true, Some(("application/json", b"{".to_vec()))).await;
    svc.check("POST", "/v1/configs", &not_json).unwrap();
    assert_eq!(not_json.status, 400);

    // Channels.
    let channel = json!({ "id": "site", "kind": "web_widget", "name": "Site", "config": "support" });
    let connected = svc.expect("POST", "/v1/channels", "/v1/channels", Some(channel), 201).await;
    assert!(connected.get("embed").is_some() && connected.get("webhook_url").is_none(), "{connected}");
    svc.expect("GET", "/v1/channels", "/v1/channels", None, 200).await;
    svc.expect("GET", "/v1/channels/{id}", "/v1/channels/site", None, 200).await;
    svc.expect("PATCH", "/v1/channels/{id}", "/v1/channels/site", Some(json!({ "name": "Website" })), 200).await;
    svc.expect("PATCH", "/v1/channels/{id}", "/v1/channels/site", Some(json!({ "config": "none" })), 422).await;

    // An endpoint, so what happens to surveys waits in its deliveries (no worker posts them).
    let endpoint = json!({ "url": "http://127.0.0.1:9/hooks" });
    let endpoint = svc.expect("POST", "/v1/endpoints", "/v1/endpoints", Some(endpoint), 201).await;
    svc.expect("POST", "/v1/endpoints", "/v1/endpoints", Some(json!({ "url": "ftp://x" })), 422).await;

    // Conversations: one that earns a survey on close, one that doesn't.
    let open = |id: &str| json!({ "id": id, "opened_by": "end_user", "channel": "site", "recipient": format!("visitor-{id}"), "languages": ["es"] });
    for id in ["c1", "c2"] {
        svc.expect("POST", "/v1/conversations", "/v1/conversations", Some(open(id)), 201).await;
    }
    svc.expect("POST", "/v1/conversations", "/v1/conversations", Some(open("c1")), 409).await;
    let events = "/v1/conversations/{id}/events";
    for author in [json!({ "kind": "end_user", "id": "u1" }), json!({ "kind": "agent", "id": "ana" })] {
        let message = json!({ "type": "message", "author": author, "length": 300 });
        let answer = svc.expect("POST", events, "/v1/conversations/c1/events", Some(message), 200).await;
        assert!(answer.get("invitation").is_none(), "{answer}");
    }
    let closed = json!({ "type": "closed" });
    let answer = svc.expect("POST", events, "/v1/conversations/c1/events", Some(closed.clone()), 200).await;
    assert_eq!(answer["invitation"]["sent"], true, "{answer}");
    let survey = answer["invitation"]["survey"]["id"].as_str().unwrap().to_owned();
    svc.expect("POST", events, "/v1/conversations/c1/events", Some(closed.clone()), 409).await;
    // Reopened and closed again, it isn't surveyed twice: an invitation rule stops it.
    svc.expect("POST", events, "/v1/conversations/c1/events", Some(json!({ "type": "reopened" })), 200).await;
    let again = svc.expect("POST", events, "/v1/conversations/c1/events", Some(closed.clone()), 200).await;
    assert!(again["invitation"]["rule"]["message"].is_string(), "{again}");
    // Closed without an agent's reply, it isn't surveyed: an auto-invite rule stops it.
    let short = svc.expect("POST", events, "/v1/conversations/c2/events", Some(closed.clone()), 200).await;
    assert_eq!(short["invitation"]["sent"], false, "{short}");
    assert!(short["invitation"]["rule"].get("message").is_none(), "{short}");
    svc.expect("POST", events, "/v1/conversations/none/events", Some(closed), 404).await;
    svc.expect("GET", "/v1/conversations/{id}", "/v1/conversations/c1", None, 200).await;
    let contact = "/v1/contacts/{channel}/{recipient}";
    svc.expect("GET", contact, "/v1/contacts/site/visitor-c1", None, 200).await;
    svc.expect("GET", contact, "/v1/contacts/none/visitor-c1", None, 404).await;
    let prechat = "/v1/reports/prechat";
    svc.expect("GET", prechat, "/v1/reports/prechat?from=2026-11-01&to=2026-11-30", None, 200).await;
    svc.expect("GET", prechat, "/v1/reports/prechat?from=2026-11-30&to=2026-11-01", None, 422).await;
    svc.expect("GET", "/v1/conversations/{id}", "/v1/conversations/none", None, 404).await;
    // An id that can't be a conversation's names none, in the API's error format.
    svc.expect("GET", "/v1/conversations/{id}", "/v1/conversations/bad%20id", None, 404).await;
    let note = json!({ "type": "reopened" });
    svc.expect("POST", events, "/v1/conversations/bad%20id/events", Some(note), 404).await;

    // An agent's invitation, and a rating with a reason and a comment.
    let invitation = json!({ "conversation": "c3", "channel": "site", "recipient": "visitor-c3", "agent": "ana" });
    svc.expect("POST", "/v1/invitations", "/v1/invitations", Some(invitation.clone()), 201).await;
    svc.expect("POST", "/v1/invitations", "/v1/invitations", Some(invitation), 409).await;
    let (tenant, id) = (TenantId::new("acme").unwrap(), SurveyId::new(survey.clone()).unwrap());
    let score = Scale::FIVE_STARS.score(1).unwrap();
    for event in [Event::Rate(score), Event::ChooseReason("slow".into()), Event::Comment("Too slow".into())] {
        surveys::apply(&svc.state.flow, &tenant, &id, event, Timestamp::now()).await.expect("the survey takes it");
    }

    // Surveys and reports.
    let page = svc.expect("GET", "/v1/surveys", "/v1/surveys", None, 200).await;
    assert_eq!(page["surveys"].as_array().map(Vec::len), Some(2), "{page}");
    svc.expect("GET", "/v1/surveys", "/v1/surveys?state=locked&limit=1", None, 200).await;
    svc.expect("GET", "/v1/surveys", "/v1/surveys?limit=0", None, 422).await;
    svc.expect("GET", "/v1/surveys", "/v1/surveys?colour=red", None, 400).await;
    let rated = svc.expect("GET", "/v1/surveys/{id}", &format!("/v1/surveys/{survey}"), None, 200).await;
    assert_eq!(rated["score"], 1, "{rated}");
    svc.expect("GET", "/v1/surveys/{id}", "/v1/surveys/none", None, 404).await;
    let report = svc.expect("GET", "/v1/reports", "/v1/reports?tz=Europe/Madrid", None, 200).await;
    assert_eq!(report["negative"].as_array().map(Vec::len), Some(1), "{report}");
    assert_eq!(report["totals"]["distribution"]["1"], 1, "{report}");
    svc.expect("GET", "/v1/reports", "/v1/reports?tz=Mars/Olympus", None, 422).await;
    let csv = svc.call(Method::GET, "/v1/reports/ratings.csv", true, None).await;
    svc.check("GET", "/v1/reports/ratings.csv", &csv).unwrap();
    assert_eq!((csv.status, csv.text().lines().count()), (200, 2), "{}", csv.text());

    // Webhooks.
    let deliveries = svc.expect("GET", "/v1/deliveries", "/v1/deliveries", None, 200).await;
    assert!(!deliveries["deliveries"].as_array().unwrap().is_empty(), "{deliveries}");
    svc.expect("GET", "/v1/endpoints", "/v1/endpoints", None, 200).await;
    let endpoint = format!("/v1/endpoints/{}", endpoint["id"].as_str().unwrap());
    svc.expect("DELETE", "/v1/endpoints/{id}", &endpoint, None, 204).await;
    svc.expect("DELETE", "/v1/endpoints/{id}", &endpoint, None, 404).await;

    // Unsubscribed addresses, and taking one back.
    let (channel, address) = (ChannelId::new("mail").unwrap(), RecipientId::new("ana@example.com").unwrap());
    contacts::unsubscribe(&svc.state.flow, &tenant, &channel, &address, Timestamp::now()).await.expect("unsubscribed");
    let listed = svc.expect("GET", "/v1/unsubscribes", "/v1/unsubscribes", None, 200).await;
    assert_eq!(listed["unsubscribes"][0]["address"], "ana@example.com", "{listed}");
    let unsubscribe = "/v1/unsubscribes/{address}";
    svc.expect("DELETE", unsubscribe, "/v1/unsubscribes/Ana@Example.com", None, 204).await;
    svc.expect("DELETE", unsubscribe, "/v1/unsubscribes/ana@example.com", None, 404).await;
    svc.expect("DELETE", unsubscribe, "/v1/unsubscribes/o'brien@example.com", None, 400).await;
    svc.expect("DELETE", "/v1/channels/{id}", "/v1/channels/site", None, 204).await;
    svc.expect("DELETE", "/v1/channels/{id}", "/v1/channels/site", None, 404).await;

    // The routes of operations, the widget and the demo page, which need no key.
    let anonymous = |method: Method, path: &'static str, body: Option<(&'static str, Vec<u8>)>| {
        let svc = &svc;
        async move { svc.call(method, path, false, body).await }
    };
    for (template, path, status) in [
        ("/", "/", 200),
        ("/healthz", "/healthz", 200),
        ("/readyz", "/readyz", 200),
        ("/metrics", "/metrics", 200),
        ("/openapi.json", "/openapi.json", 200),
        ("/widget.js", "/widget.js", 200),
        ("/widget/ws", "/widget/ws?tenant=acme", 400),
        // A call that is no WebSocket handshake (as here, in process) gets the WebSocket layer's
        // refusal; the end-to-end tests open the socket, and see its 403.
        ("/widget/ws", "/widget/ws?tenant=acme&channel=site&visitor=v", 400),
    ] {
        let answer = anonymous(Method::GET, path, None).await;
        svc.check("GET", template, &answer).unwrap_or_else(|e| panic!("GET {path}: {e}"));
        assert_eq!(answer.status, status, "GET {path}: {}", answer.text());
    }
    // The reply reader answers errors as the API does, naming the field at fault.
    for (line, status, error) in [
        (r#"{"text": "4 stars, thanks!"}"#, 200, None),
        (r#"{"text": "meh"}"#, 200, None),
        ("not json", 400, Some(("malformed_json", None))),
        (r#"{"txt": "5"}"#, 422, Some(("invalid", Some("txt")))),
        (r#"{"text": "5", "scale": "stars:11"}"#, 422, Some(("invalid", Some("scale")))),
        (r#"{"text": "5", "locale": "nl"}"#, 422, Some(("invalid", Some("locale")))),
        (r#"{"text": "5", "labels": {"7": "Wow"}}"#, 422, Some(("invalid", Some("labels.7")))),
    ] {
        let answer = anonymous(Method::POST, "/api/understand", Some(("text/plain", line.as_bytes().to_vec()))).await;
        svc.check("POST", "/api/understand", &answer).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert_eq!(answer.status, status, "{line}: {}", answer.text());
        if let Some((code, field)) = error {
            let body: serde_json::Value = serde_json::from_str(&answer.text()).unwrap();
            assert_eq!(body["error"]["code"], code, "{line}: {body}");
            assert!(body["error"]["message"].is_string(), "{line}: {body}");
            if let Some(field) = field {
                assert_eq!(body["error"]["fields"][0]["field"], field, "{line}: {body}");
            }
        }
    }

    // The dashboard: its login exchanges the key for a session cookie, which the report routes
    // take in place of the key.
    let form = |key: &str| Some(("application/x-www-form-urlencoded", format!("key={key}").into_bytes()));
    for (method, template, body, status) in [
        (Method::GET, "/dashboard", None, 303),
        (Method::GET, "/dashboard/login", None, 200),
        (Method::POST, "/dashboard/login", form("rw_guess"), 401),
        (Method::POST, "/dashboard/login", Some(("application/json", b"{}".to_vec())), 400),
        (Method::POST, "/dashboard/logout", None, 303),
    ] {
        let answer = svc.call(method.clone(), template, false, body).await;
        svc.check(method.as_str(), template, &answer).unwrap_or_else(|e| panic!("{method} {template}: {e}"));
        assert_eq!(answer.status, status, "{method} {template}: {}", answer.text());
    }
    let login = svc.call(Method::POST, "/dashboard/login", false, form(&svc.key)).await;
    svc.check("POST", "/dashboard/login", &login).unwrap();
    assert_eq!(login.status, 303, "{}", login.text());
    let cookie = login.headers[header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_owned();
    for (template, path) in [("/dashboard", "/dashboard"), ("/v1/reports", "/v1/reports")] {
        let request = Request::get(path).header(header::COOKIE, &cookie).body(Body::empty()).unwrap();
        let answer = svc.send(request).await;
        svc.check("GET", template, &answer).unwrap_or_else(|e| panic!("GET {path}: {e}"));
        assert_eq!(answer.status, 200, "GET {path} with the session: {}", answer.text());
    }
    // Ending every session: from the dashboard with the session, and through the API with a key.
    let request = Request::post("/dashboard/logout-everywhere").header(header::COOKIE, &cookie).body(Body::empty());
    let answer = svc.send(request.unwrap()).await;
    svc.check("POST", "/dashboard/logout-everywhere", &answer).unwrap();
    assert_eq!(answer.status, 303, "{}", answer.text());
    let answer = svc.call(Method::DELETE, "/v1/dashboard/sessions", true, None).await;
    svc.check("DELETE", "/v1/dashboard/sessions", &answer).unwrap();
    assert_eq!(answer.status, 204, "{}", answer.text());

    // Every operation has answered with a success, of its documented schema, but the widget's
    // WebSocket, which only a real connection opens, the platforms' webhooks, which only a
    // platform's signature opens, and the email pages, which only a link's token opens (the
    // end-to-end tests open all three).
    let succeeded = svc.succeeded.lock().unwrap().clone();
    let missing: Vec<_> = operations(&svc.document)
        .into_iter()
        .filter(|operation| {
            !succeeded.contains(operation)
                && !["/widget/ws", "/hooks/{tenant}/{channel}"].contains(&operation.1.as_str())
                && !operation.1.starts_with("/email/")
        })
        .collect();
    assert!(missing.is_empty(), "never answered with a success: {missing:?}");
}

/// The document as published in `docs/openapi.json`. A change to the API shows up here as a
/// difference to review; when it is meant, `RATEWIRE_WRITE_OPENAPI=1 cargo test -p
/// ratewire-gateway --test openapi` writes the new document over the published one.
#[test]
fn the_document_is_the_published_one() {
    let published = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.json");
    let generated = serde_json::to_string_pretty(&http::openapi()).unwrap() + "\n";
    if std::env::var_os("RATEWIRE_WRITE_OPENAPI").is_some() {
        std::fs::write(&published, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&published).expect("docs/openapi.json is published");
    let (committed, generated): (Value, Value) =
        (serde_json::from_str(&committed).unwrap(), serde_json::from_str(&generated).unwrap());
    assert!(
        committed == generated,
        "the OpenAPI document differs from docs/openapi.json; if the change is meant, write it with \
         RATEWIRE_WRITE_OPENAPI=1 and review the difference"
    );
}
