//! The workflow's counters, exported by the service's `/metrics`.

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
