//! Each channel's send rate, kept in the store so that the sends of every gateway count against
//! one budget: a channel at 5 a second sends 5 a second whether one gateway sends or ten.
//!
//! Sends are spaced evenly, one every `1/rate` seconds, with no burst: no one-second window
//! holds more than the rate. A sender takes the next free slot when it is close enough to wait
//! for, so that senders racing for a channel each get a slot of their own instead of all waking
//! for the same one.

use std::num::NonZeroU32;

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};

use super::StoreError;
use crate::ids::{ChannelId, TenantId};

/// The slot a send was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendSlot {
    /// Taken: send after waiting this long (zero: now).
    In(SignedDuration),
    /// Not taken: the channel's next free slot is this far off, beyond the horizon asked for.
    NoneBefore(SignedDuration),
}

/// The time between two sends at `per_second`, rounded up to the microsecond: never shorter.
pub fn send_interval(per_second: NonZeroU32) -> SignedDuration {
    SignedDuration::from_micros(1_000_000_u64.div_ceil(u64::from(per_second.get())) as i64)
}

/// What the store keeps of a channel's pace: its next free slot, and the interval it was kept
/// for (a changed rate starts afresh: it applies from the next send, not after the old wait).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pace {
    pub next_free: Timestamp,
    pub interval: SignedDuration,
}

/// Takes the next slot of a channel kept as `kept`, at `now`: the slot given and the pace to keep
/// (none when no slot was taken). The Redis store runs the same rule in a script, on Redis's
/// clock.
pub fn take_slot(
    kept: Option<Pace>,
    interval: SignedDuration,
    horizon: SignedDuration,
    now: Timestamp,
) -> (SendSlot, Option<Pace>) {
    let free = kept.filter(|pace| pace.interval == interval && pace.next_free > now).map_or(now, |pace| pace.next_free);
    let wait = free.duration_since(now);
    if wait > horizon {
        return (SendSlot::NoneBefore(wait), None);
    }
    (SendSlot::In(wait), Some(Pace { next_free: free + interval, interval }))
}

#[async_trait]
pub trait Pacing: Send + Sync {
    /// Takes the next free send slot of `tenant`'s `channel`, which sends `per_second` a second,
    /// if it is at most `horizon` away. The slots are kept on the store's clock (Redis's, for
    /// the Redis store), the one clock every gateway shares, not on a time the caller passes.
    async fn take_send_slot(
        &self,
        tenant: &TenantId,
        channel: &ChannelId,
        per_second: NonZeroU32,
        horizon: SignedDuration,
    ) -> Result<SendSlot, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(millis: i64) -> Timestamp {
        Timestamp::from_millisecond(1_700_000_000_000 + millis).unwrap()
    }

    #[test]
    fn slots_are_spaced_by_the_interval_and_none_is_given_past_the_horizon() {
        let interval = send_interval(NonZeroU32::new(5).unwrap());
        assert_eq!(interval, SignedDuration::from_millis(200));
        let horizon = SignedDuration::from_millis(250);
        let mut kept = None;
        let mut slots = Vec::new();
        for _ in 0..3 {
            let (slot, pace) = take_slot(kept, interval, horizon, at(0));
            slots.push(slot);
            kept = pace.or(kept);
        }
        let ms = SignedDuration::from_millis;
        assert_eq!(slots, [SendSlot::In(ms(0)), SendSlot::In(ms(200)), SendSlot::NoneBefore(ms(400))]);
        // Later, the free slot is now again; a changed rate starts afresh.
        assert_eq!(take_slot(kept, interval, horizon, at(1000)).0, SendSlot::In(ms(0)));
        let faster = send_interval(NonZeroU32::new(50).unwrap());
        assert_eq!(take_slot(kept, faster, horizon, at(10)).0, SendSlot::In(ms(0)));
    }

    #[test]
    fn no_second_holds_more_sends_than_the_rate() {
        for rate in [1, 3, 7, 30, 80] {
            let interval = send_interval(NonZeroU32::new(rate).unwrap());
            let (mut kept, mut sends) = (None, Vec::new());
            let mut now = at(0);
            while sends.len() < 3 * rate as usize {
                match take_slot(kept, interval, SignedDuration::from_millis(250), now) {
                    (SendSlot::In(wait), pace) => {
                        sends.push(now + wait);
                        kept = pace;
                    }
                    (SendSlot::NoneBefore(wait), _) => now += wait,
                }
            }
            for (i, first) in sends.iter().enumerate() {
                let within =
                    sends[i..].iter().take_while(|send| send.duration_since(*first) < SignedDuration::from_secs(1));
                assert!(within.count() <= rate as usize, "{rate} a second");
            }
        }
    }
}
