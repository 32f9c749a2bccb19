//! Telegram's limit of about one message a second in one chat. Faster, it answers 429 with a
//! wait; a survey's replies to one message (a thank-you and a question) would come that fast, so
//! the second is held back here and the outbox sends it once the chat's second has passed.
//!
//! The pace is kept per process, as the per-bot rate is: gateways sharing a store each keep
//! their own, and Telegram's own 429 covers what they send together.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The least time between two messages to one chat.
pub const CHAT_SPACING: Duration = Duration::from_secs(1);

/// One chat of one bot: the bot's API address and token, and the chat id.
pub(super) type ChatKey = (String, i64);

/// When each chat was last written to, for the chats written to within [`CHAT_SPACING`].
#[derive(Default)]
pub(super) struct ChatSpacing {
    last_sent: Mutex<HashMap<ChatKey, Instant>>,
}

impl ChatSpacing {
    /// The spacing of every bot in the process: two channels can use one bot, and a channel
    /// connected anew gets a new adapter, so the pace can't live in an adapter.
    pub(super) fn shared() -> &'static ChatSpacing {
        static SHARED: OnceLock<ChatSpacing> = OnceLock::new();
        SHARED.get_or_init(ChatSpacing::default)
    }

    /// Takes the chat's turn at `now`, or says how long until the chat may be written to. A turn
    /// taken holds the chat until [`ChatSpacing::end_turn`].
    pub(super) fn take_turn(&self, chat: &ChatKey, now: Instant) -> Result<(), Duration> {
        let mut last_sent = self.last_sent.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        // Only chats still within their second are kept: the map stays as small as the traffic
        // of the last second.
        last_sent.retain(|_, at| now.saturating_duration_since(*at) < CHAT_SPACING);
        if let Some(at) = last_sent.get(chat) {
            return Err(CHAT_SPACING - now.saturating_duration_since(*at));
        }
        last_sent.insert(chat.clone(), now);
        Ok(())
    }

    /// Ends the chat's turn when Telegram answered the send, at `answered`. A message it took,
    /// it took between the turn and then: the chat's second counts from then, so the next
    /// message is a full second after it. A message it refused leaves the chat free.
    pub(super) fn end_turn(&self, chat: &ChatKey, answered: Instant, delivered: bool) {
        let mut last_sent = self.last_sent.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if delivered {
            last_sent.insert(chat.clone(), answered);
        } else {
            last_sent.remove(chat);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chat(bot: &str, id: i64) -> ChatKey {
        (bot.to_owned(), id)
    }

    #[test]
    fn a_chat_takes_one_message_a_second() {
        let spacing = ChatSpacing::default();
        let start = Instant::now();
        let ana = chat("bot-a", 42);
        assert_eq!(spacing.take_turn(&ana, start), Ok(()));
        // The turn is held while the message goes.
        assert_eq!(spacing.take_turn(&ana, start + Duration::from_millis(10)), Err(Duration::from_millis(990)));
        spacing.end_turn(&ana, start + Duration::from_millis(200), true);
        assert_eq!(spacing.take_turn(&ana, start + Duration::from_millis(700)), Err(Duration::from_millis(500)));
        assert_eq!(spacing.take_turn(&ana, start + Duration::from_millis(1200)), Ok(()));
    }

    #[test]
    fn a_refused_message_leaves_the_chat_free() {
        let spacing = ChatSpacing::default();
        let start = Instant::now();
        let ana = chat("bot-a", 42);
        spacing.take_turn(&ana, start).expect("a first message");
        spacing.end_turn(&ana, start + Duration::from_millis(100), false);
        assert_eq!(spacing.take_turn(&ana, start + Duration::from_millis(150)), Ok(()));
    }

    #[test]
    fn other_chats_and_other_bots_are_not_held() {
        let spacing = ChatSpacing::default();
        let start = Instant::now();
        assert_eq!(spacing.take_turn(&chat("bot-a", 42), start), Ok(()));
        assert_eq!(spacing.take_turn(&chat("bot-a", 43), start), Ok(()));
        assert_eq!(spacing.take_turn(&chat("bot-b", 42), start), Ok(()));
        assert!(spacing.take_turn(&chat("bot-a", 42), start).is_err());
    }

    #[test]
    fn chats_past_their_second_are_forgotten() {
        let spacing = ChatSpacing::default();
        let start = Instant::now();
        for id in 0..100 {
            spacing.take_turn(&chat("bot-a", id), start).expect("a first message");
        }
        spacing.take_turn(&chat("bot-a", 1000), start + CHAT_SPACING).expect("a first message");
        assert_eq!(spacing.last_sent.lock().unwrap().len(), 1);
    }
}
