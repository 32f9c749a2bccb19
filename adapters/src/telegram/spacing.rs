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

/// Where a chat's turn stands.
#[derive(Debug, Clone, Copy)]
enum Held {
    /// A message is on its way: the chat is held until Telegram answers, however long it takes.
    Sending,
    /// Telegram took a message at this time: the chat is held for [`CHAT_SPACING`] after it.
    Sent(Instant),
}

/// The chats being written to, and those written to within [`CHAT_SPACING`].
#[derive(Default)]
pub(super) struct ChatSpacing {
    held: Mutex<HashMap<ChatKey, Held>>,
}

impl ChatSpacing {
    /// The spacing of every bot in the process: two channels can use one bot, and a channel
    /// connected anew gets a new adapter, so the pace can't live in an adapter.
    pub(super) fn shared() -> &'static ChatSpacing {
        static SHARED: OnceLock<ChatSpacing> = OnceLock::new();
        SHARED.get_or_init(ChatSpacing::default)
    }

    fn held(&self) -> std::sync::MutexGuard<'_, HashMap<ChatKey, Held>> {
        self.held.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes the chat's turn at `now`, or says how long until the chat may be written to. The
    /// turn holds the chat until it is [ended](Turn::end).
    pub(super) fn take_turn(&self, chat: &ChatKey, now: Instant) -> Result<Turn<'_>, Duration> {
        let mut held = self.held();
        // Only chats being written to or still within their second are kept: the map stays as
        // small as the traffic of the last second.
        held.retain(|_, held| match held {
            Held::Sending => true,
            Held::Sent(at) => now.saturating_duration_since(*at) < CHAT_SPACING,
        });
        match held.get(chat) {
            // The chat's second will count from an answer still to come.
            Some(Held::Sending) => Err(CHAT_SPACING),
            Some(Held::Sent(at)) => Err(CHAT_SPACING - now.saturating_duration_since(*at)),
            None => {
                held.insert(chat.clone(), Held::Sending);
                Ok(Turn { spacing: self, chat: Some(chat.clone()) })
            }
        }
    }
}

/// A chat's turn, taken for one message.
pub(super) struct Turn<'a> {
    spacing: &'a ChatSpacing,
    /// Until the turn is ended.
    chat: Option<ChatKey>,
}

impl Turn<'_> {
    /// Ends the turn when Telegram answered the send, at `answered`. A message it took, it took
    /// between the turn and then: the chat's second counts from then, so the next message is a
    /// full second after it. A message it refused leaves the chat free.
    pub(super) fn end(mut self, answered: Instant, delivered: bool) {
        if let Some(chat) = self.chat.take() {
            let mut held = self.spacing.held();
            if delivered {
                held.insert(chat, Held::Sent(answered));
            } else {
                held.remove(&chat);
            }
        }
    }
}

impl Drop for Turn<'_> {
    /// A send given up before Telegram answered frees the chat rather than holding it for ever;
    /// should Telegram have taken the message, its own 429 paces the next one.
    fn drop(&mut self) {
        if let Some(chat) = self.chat.take() {
            self.spacing.held().remove(&chat);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chat(bot: &str, id: i64) -> ChatKey {
        (bot.to_owned(), id)
    }

    fn ms(millis: u64) -> Duration {
        Duration::from_millis(millis)
    }

    #[test]
    fn a_chat_takes_one_message_a_second() {
        let spacing = ChatSpacing::default();
        let start = Instant::now();
        let ana = chat("bot-a", 42);
        let turn = spacing.take_turn(&ana, start).expect("a first message");
        // The turn is held while the message goes.
        assert_eq!(spacing.take_turn(&ana, start + ms(10)).err(), Some(CHAT_SPACING));
        turn.end(start + ms(200), true);
        assert_eq!(spacing.take_turn(&ana, start + ms(700)).err(), Some(ms(500)));
        assert!(spacing.take_turn(&ana, start + ms(1200)).is_ok());
    }

    #[test]
    fn a_slow_send_holds_the_chat_until_telegram_answers() {
        let spacing = ChatSpacing::default();
        let start = Instant::now();
        let ana = chat("bot-a", 42);
        let turn = spacing.take_turn(&ana, start).expect("a first message");
        // Long past the second the turn was taken in, the send still waits for its answer.
        assert_eq!(spacing.take_turn(&ana, start + ms(3000)).err(), Some(CHAT_SPACING));
        // Another chat's turn, which clears the chats past their second, keeps this one.
        assert!(spacing.take_turn(&chat("bot-a", 43), start + ms(3000)).is_ok());
        assert_eq!(spacing.take_turn(&ana, start + ms(3000)).err(), Some(CHAT_SPACING));
        turn.end(start + ms(5000), true);
        assert_eq!(spacing.take_turn(&ana, start + ms(5400)).err(), Some(ms(600)));
        assert!(spacing.take_turn(&ana, start + ms(6000)).is_ok());
    }

    #[test]
    fn a_refused_message_leaves_the_chat_free() {
        let spacing = ChatSpacing::default();
        let start = Instant::now();
        let ana = chat("bot-a", 42);
        spacing.take_turn(&ana, start).expect("a first message").end(start + ms(100), false);
        assert!(spacing.take_turn(&ana, start + ms(150)).is_ok());
    }

    #[test]
    fn a_send_given_up_leaves_the_chat_free() {
        let spacing = ChatSpacing::default();
        let start = Instant::now();
        let ana = chat("bot-a", 42);
        drop(spacing.take_turn(&ana, start).expect("a first message"));
        assert!(spacing.take_turn(&ana, start + ms(10)).is_ok());
    }

    #[test]
    fn other_chats_and_other_bots_are_not_held() {
        let spacing = ChatSpacing::default();
        let start = Instant::now();
        let turns = [chat("bot-a", 42), chat("bot-a", 43), chat("bot-b", 42)]
            .map(|key| spacing.take_turn(&key, start).expect("a first message"));
        assert!(spacing.take_turn(&chat("bot-a", 42), start).is_err());
        drop(turns);
    }

    #[test]
    fn chats_past_their_second_are_forgotten() {
        let spacing = ChatSpacing::default();
        let start = Instant::now();
        for id in 0..100 {
            spacing.take_turn(&chat("bot-a", id), start).expect("a first message").end(start, true);
        }
        let turn = spacing.take_turn(&chat("bot-a", 1000), start + CHAT_SPACING).expect("a first message");
        assert_eq!(spacing.held().len(), 1);
        drop(turn);
    }
}
