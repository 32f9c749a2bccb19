//! The HTTP front of the gateway, tried from outside as a careless or hostile client would:
//! the shape of JSON bodies.

use ratewire_tests::service::Gateway;
use reqwest::Method;
use serde_json::json;

/// Every JSON body is an object: serde would otherwise fill a struct from a positional array,
/// so `["final", "renamed"]` would rename a channel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_bodies_are_objects_or_422() {
    let gw = Gateway::start(None).await;
    let api = gw.acme();
    api.post("/v1/configs", &json!({ "id": "support", "name": "Support", "config": {} })).await.expect(201);
    let channel = json!({ "id": "site", "kind": "web_widget", "name": "Site chat", "config": "support" });
    api.post("/v1/channels", &channel).await.expect(201);

    let json = Some("application/json");
    for (method, path, body) in [
        (Method::PATCH, "/v1/channels/site", r#"["support", "renamed via array"]"#),
        (Method::POST, "/v1/invitations", r#" ["c1", "site", "visitor-1", null, null]"#),
        (Method::POST, "/v1/configs", r#"["array", "Array", {}]"#),
        (Method::POST, "/v1/channels", r#""site""#),
        (Method::POST, "/v1/conversations", "42"),
        (Method::POST, "/api/understand", r#"["5"]"#),
    ] {
        let answer = api.raw(method.clone(), path, json, body.as_bytes().to_vec()).await;
        assert_eq!(answer.error(422), "invalid", "{method} {path} {body}");
        assert_eq!(
            answer.json()["error"]["fields"],
            json!([{ "field": "body", "problem": "must be a JSON object" }]),
            "{method} {path}"
        );
    }
    // Nothing was changed or made.
    let site = api.get("/v1/channels/site").await.expect(200);
    assert_eq!(site["name"], "Site chat");
    assert_eq!(api.get("/v1/surveys").await.expect(200)["surveys"], json!([]));
    assert_eq!(api.get("/v1/configs").await.expect(200)["configs"].as_array().map(Vec::len), Some(1));
    // Not JSON at all is still malformed, and an object still works.
    let answer = api.raw(Method::PATCH, "/v1/channels/site", json, b"[\"support\",".to_vec()).await;
    assert_eq!(answer.error(400), "malformed_json");
    let answer = api.patch("/v1/channels/site", &json!({ "name": "Renamed" })).await;
    assert_eq!(answer.expect(200)["name"], "Renamed");
}
