//! Each channel's send rate, kept in the store so that the sends of every gateway count against
//! one budget: a channel at 5 a second sends 5 a second whether one gateway sends or ten. A
//! platform that also limits what one end user is sent (Telegram: a message a second per chat)
//! has a pace per recipient as well, kept the same way.
//!
//! Sends are spaced evenly, one every `1/rate` seconds, with no burst: no one-second window
//! holds more than the rate. A sender takes the next free slot when it is close enough to wait
//! for, so that senders racing for a channel each get a slot of their own instead of all waking
//! for the same one.

use std::num::NonZeroU32;

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};

use super::StoreError;
use crate::ids::{ChannelId, RecipientId, TenantId};

/// Whose sends one pace spaces: all of a channel's, or a channel's to one recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SendLane<'a> {
    Channel(&'a ChannelId),
    Recipient(&'a ChannelId, &'a RecipientId),
}

/// The slots a gateway took for a channel's sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendSlots {
    /// Taken: `count` slots, the first after waiting `first` (zero: now), then one every
    /// `interval`. They are the taker's alone: sending in them can't exceed the rate.
    Taken { first: SignedDuration, interval: SignedDuration, count: u32 },
    /// None taken: the channel's next free slot is this far off, beyond the horizon asked for.
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

/// Takes up to `count` of the next free slots of a channel kept as `kept`, those within
/// `horizon` of `now`: the slots given and the pace to keep (none when none was taken). The
/// Redis store runs the same rule in a script, on Redis's clock.
pub fn take_slots(
    kept: Option<Pace>,
    interval: SignedDuration,
    count: u32,
    horizon: SignedDuration,
    now: Timestamp,
) -> (SendSlots, Option<Pace>) {
    let free = kept.filter(|pace| pace.interval == interval && pace.next_free > now).map_or(now, |pace| pace.next_free);
    let first = free.duration_since(now);
    if first > horizon {
        return (SendSlots::NoneBefore(first), None);
    }
    let within = (horizon - first).as_micros() / interval.as_micros().max(1) + 1;
    let count = count.max(1).min(u32::try_from(within).unwrap_or(u32::MAX));
    let next_free = free + interval * i32::try_from(count).unwrap_or(i32::MAX);
    (SendSlots::Taken { first, interval, count }, Some(Pace { next_free, interval }))
}

#[async_trait]
pub trait Pacing: Send + Sync {
    /// Takes up to `count` of the next free send slots of `tenant`'s `lane`, whose sends are
    /// `interval` apart, those at most `horizon` away (at least one, when the next is). The
    /// slots are kept on the store's clock (Redis's, for the Redis store), the one clock every
    /// gateway shares, not on a time the caller passes.
    async fn take_send_slots(
        &self,
        tenant: &TenantId,
        lane: SendLane<'_>,
        interval: SignedDuration,
        count: u32,
        horizon: SignedDuration,
    ) -> Result<SendSlots, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(millis: i64) -> Timestamp {
        Timestamp::from_millisecond(1_700_000_000_000 + millis).unwrap()
    }

    const MS: fn(i64) -> SignedDuration = SignedDuration::from_millis;

    #[test]
    fn slots_are_spaced_by_the_interval_and_none_is_given_past_the_horizon() {
        let interval = send_interval(NonZeroU32::new(5).unwrap());
        assert_eq!(interval, MS(200));
        let horizon = MS(250);
        let (first, kept) = take_slots(None, interval, 1, horizon, at(0));
        assert_eq!(first, SendSlots::Taken { first: MS(0), interval, count: 1 });
        let (second, kept) = take_slots(kept, interval, 1, horizon, at(0));
        assert_eq!(second, SendSlots::Taken { first: MS(200), interval, count: 1 });
        assert_eq!(take_slots(kept, interval, 1, horizon, at(0)).0, SendSlots::NoneBefore(MS(400)));
        // Later, the free slot is now again; a changed rate starts afresh.
        assert_eq!(
            take_slots(kept, interval, 1, horizon, at(1000)).0,
            SendSlots::Taken { first: MS(0), interval, count: 1 }
        );
        let faster = send_interval(NonZeroU32::new(50).unwrap());
        assert_eq!(
            take_slots(kept, faster, 1, horizon, at(10)).0,
            SendSlots::Taken { first: MS(0), interval: faster, count: 1 }
        );
    }

    #[test]
    fn a_batch_takes_the_slots_within_the_horizon() {
        let interval = send_interval(NonZeroU32::new(80).unwrap());
        let (taken, kept) = take_slots(None, interval, 8, MS(250), at(0));
        assert_eq!(taken, SendSlots::Taken { first: MS(0), interval, count: 8 });
        assert_eq!(kept.unwrap().next_free, at(100));
        // Of the next 30, those up to 250 ms away: 100 ms, then every 12.5 ms up to 250.
        let (taken, kept) = take_slots(kept, interval, 30, MS(250), at(0));
        assert_eq!(taken, SendSlots::Taken { first: MS(100), interval, count: 13 });
        assert_eq!(kept.unwrap().next_free, at(0) + MS(100) + interval * 13);
    }

    #[test]
    fn no_second_holds_more_sends_than_the_rate() {
        for rate in [1, 3, 7, 30, 80] {
            let interval = send_interval(NonZeroU32::new(rate).unwrap());
            let (mut kept, mut sends) = (None, Vec::new());
            let mut now = at(0);
            while sends.len() < 3 * rate as usize {
                match take_slots(kept, interval, 4, MS(250), now) {
                    (SendSlots::Taken { first, interval, count }, pace) => {
                        sends.extend((0..count as i32).map(|i| now + first + interval * i));
                        kept = pace;
                        now += first;
                    }
                    (SendSlots::NoneBefore(wait), _) => now += wait,
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
