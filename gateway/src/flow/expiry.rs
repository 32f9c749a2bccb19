//! Surveys that fall due: expired when nobody answered in time, their rating locked when its
//! change window closes; the business is told, and the end user where the rules say.

use std::time::Duration;

use jiff::Timestamp;
use ratewire_core::store;

use super::records::ChannelInUse;
use super::{Flow, surveys, telemetry};

/// How often the sweeper looks for surveys whose deadline or change window has passed.
const SWEEP_INTERVAL: Duration = Duration::from_secs(1);
/// The most surveys one sweep handles; the rest wait for the next.
const SWEEP_BATCH: usize = 500;

/// Expires surveys and locks ratings when they fall due, those of this gateway's share of the
/// buckets, and tells the business.
pub async fn sweep_forever(flow: Flow) {
    let mut interval = tokio::time::interval(SWEEP_INTERVAL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let now = Timestamp::now();
        match store::sweep(flow.store.as_ref(), now, flow.share.at(now), SWEEP_BATCH).await {
            Ok(transitions) => {
                for transition in transitions {
                    telemetry::transition(transition.survey.state.name());
                    let channel = ChannelInUse::of_survey(&flow.store, &transition.survey);
                    surveys::carry_out(&flow, &channel, &transition.survey, &transition.effects, now).await;
                }
            }
            Err(error) => tracing::warn!(%error, "sweep failed; trying again"),
        }
    }
}
