//! The workflow's counters and gauges, exported by the service's `/metrics`, and the log lines
//! that go with them.

/// A survey reached `state`.
pub fn transition(state: ratewire_core::StateName) {
    let state = serde_json::to_value(state).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
    metrics::counter!("ratewire_survey_transitions_total", "state" => state).increment(1);
}

/// An invitation went out on a channel, or didn't.
pub fn send(kind: ratewire_adapters::ChannelKind, ok: bool) {
    let kind = serde_json::to_value(kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
    let result = if ok { "sent" } else { "failed" };
    metrics::counter!("ratewire_channel_sends_total", "kind" => kind, "result" => result).increment(1);
}

/// An outbox item (`webhook` or `send`) was `done`, will `retry`, or was `given_up`.
pub fn outbox(task: &'static str, result: &'static str) {
    metrics::counter!("ratewire_outbox_total", "task" => task, "result" => result).increment(1);
}

/// This gateway started as `worker`: its id, logged and exported, so that its logs and metrics
/// say which of the service's gateways they come from.
pub fn worker_started(worker: &ratewire_core::store::WorkerId) {
    tracing::info!(%worker, "this gateway's id among the workers");
    metrics::gauge!("ratewire_gateway_info", "worker" => worker.to_string()).set(1.0);
}

/// This gateway holds `buckets` of the background work, logged when they change.
pub fn share_held(worker: &ratewire_core::store::WorkerId, buckets: ratewire_core::store::Buckets, changed: bool) {
    if changed {
        tracing::info!(%worker, %buckets, "this gateway's share of the work");
    }
    metrics::gauge!("ratewire_work_buckets_held").set(buckets.len() as f64);
}
