//! The links of a rating email, and the tokens in them.
//!
//! A token names what a link does — rate a survey with one score, give one reason for a low
//! rating, open a survey's page, or unsubscribe an address — and carries an HMAC of that under a key derived from the channel's
//! secret, so a token can't be made or edited (a score changed in the URL) without the secret.
//! The text is plain hex, which no mail client or link scanner rewrites.

use hmac::{Hmac, Mac};
use ratewire_core::{RecipientId, Scale, Score, SurveyId};
use sha2::Sha256;
use thiserror::Error;

/// What a link does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    /// Rate the survey with this score (confirmed on the page before it counts).
    Rate { survey: SurveyId, score: Score },
    /// Give this reason for the survey's low rating (confirmed on the page before it counts).
    Reason { survey: SurveyId, reason: String },
    /// The survey's page: its state, the reasons after a low rating, the comment.
    Survey(SurveyId),
    /// Stop rating emails to this address.
    Unsubscribe(RecipientId),
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum LinkError {
    #[error("the link is incomplete or damaged")]
    Malformed,
    #[error("the link was not made by ratewire for this channel, or was edited")]
    BadSignature,
}

/// The MAC's length in a token, in bytes: 128 bits.
const MAC_BYTES: usize = 16;

/// The key a channel's link tokens are signed with.
#[derive(Clone)]
pub struct LinkKey([u8; 32]);

impl std::fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkKey(…)")
    }
}

impl LinkKey {
    /// The key of a channel, derived from its secret (the one its inbound posts carry), so a
    /// token gives nothing of the secret away.
    pub fn new(channel_secret: &str) -> LinkKey {
        let mut mac = hmac(channel_secret.as_bytes());
        mac.update(b"ratewire email links v1");
        LinkKey(mac.finalize().into_bytes().into())
    }

    /// The token of a link: `<hex of what it does>.<hex of its MAC>`.
    pub fn token(&self, link: &Link) -> String {
        let payload = match link {
            Link::Rate { survey, score } => format!("r:{score}:{survey}"),
            // Survey ids hold no ':' outside `rw…` forms, reasons may: the survey comes first,
            // its length given, so nothing has to be split on.
            Link::Reason { survey, reason } => format!("c:{}:{survey}:{reason}", survey.as_str().len()),
            Link::Survey(survey) => format!("s:{survey}"),
            Link::Unsubscribe(address) => format!("u:{address}"),
        };
        format!("{}.{}", hex::encode(&payload), hex::encode(self.mac(payload.as_bytes())))
    }

    /// Reads a token back, checking its MAC in constant time before anything in it is trusted.
    pub fn open(&self, token: &str) -> Result<Link, LinkError> {
        let (payload, mac) = token.split_once('.').ok_or(LinkError::Malformed)?;
        let payload = hex::decode(payload).map_err(|_| LinkError::Malformed)?;
        let mac = hex::decode(mac).ok().filter(|mac| mac.len() == MAC_BYTES).ok_or(LinkError::Malformed)?;
        if !bool::from(subtle::ConstantTimeEq::ct_eq(self.mac(&payload).as_slice(), mac.as_slice())) {
            return Err(LinkError::BadSignature);
        }
        let payload = String::from_utf8(payload).map_err(|_| LinkError::Malformed)?;
        let (kind, rest) = payload.split_once(':').ok_or(LinkError::Malformed)?;
        match kind {
            "r" => {
                let (score, survey) = rest.split_once(':').ok_or(LinkError::Malformed)?;
                let score = score.parse::<u32>().ok().and_then(|n| Scale::NPS.score(n).ok());
                let survey = SurveyId::new(survey).ok();
                match (survey, score) {
                    // Any level of any scale; the survey's own scale is checked when it is applied.
                    (Some(survey), Some(score)) => Ok(Link::Rate { survey, score }),
                    _ => Err(LinkError::Malformed),
                }
            }
            "c" => {
                let (length, rest) = rest.split_once(':').ok_or(LinkError::Malformed)?;
                let length = length.parse::<usize>().map_err(|_| LinkError::Malformed)?;
                let (survey, reason) = rest
                    .split_at_checked(length)
                    .and_then(|(survey, rest)| Some((survey, rest.strip_prefix(':')?)))
                    .ok_or(LinkError::Malformed)?;
                match SurveyId::new(survey) {
                    Ok(survey) if !reason.is_empty() => Ok(Link::Reason { survey, reason: reason.to_owned() }),
                    _ => Err(LinkError::Malformed),
                }
            }
            "s" => SurveyId::new(rest).map(Link::Survey).map_err(|_| LinkError::Malformed),
            "u" => RecipientId::new(rest).map(Link::Unsubscribe).map_err(|_| LinkError::Malformed),
            _ => Err(LinkError::Malformed),
        }
    }

    fn mac(&self, payload: &[u8]) -> [u8; MAC_BYTES] {
        let mut mac = hmac(&self.0);
        mac.update(payload);
        let full = mac.finalize().into_bytes();
        let mut cut = [0; MAC_BYTES];
        cut.copy_from_slice(&full[..MAC_BYTES]);
        cut
    }
}

fn hmac(key: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length: this never fails.
    Hmac::<Sha256>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"))
}

/// The addresses of a channel's pages, under `<public_url>/email/<tenant>/<channel>`.
#[derive(Debug, Clone)]
pub struct Links {
    base: String,
    key: LinkKey,
}

impl Links {
    pub fn new(pages_url: &str, key: LinkKey) -> Links {
        Links { base: pages_url.trim_end_matches('/').to_owned(), key }
    }

    /// Where a link leads: `rate/…`, `survey/…` or `unsubscribe/…` under the channel's pages.
    pub fn url(&self, link: &Link) -> String {
        let page = match link {
            Link::Rate { .. } => "rate",
            Link::Reason { .. } => "reason",
            Link::Survey(_) => "survey",
            Link::Unsubscribe(_) => "unsubscribe",
        };
        format!("{}/{page}/{}", self.base, self.key.token(link))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn survey() -> SurveyId {
        SurveyId::new("0123456789abcdef0123456789abcdef").unwrap()
    }

    #[test]
    fn tokens_round_trip() {
        let key = LinkKey::new("channel-secret");
        for link in [
            Link::Rate { survey: survey(), score: Scale::NPS.score(0).unwrap() },
            Link::Rate { survey: SurveyId::new("a:b.c").unwrap(), score: Scale::NPS.score(10).unwrap() },
            Link::Survey(survey()),
            Link::Reason { survey: survey(), reason: "slow".into() },
            Link::Reason { survey: SurveyId::new("a:b").unwrap(), reason: "c:d".into() },
            Link::Unsubscribe(RecipientId::new("ana+help@example.com").unwrap()),
        ] {
            let token = key.token(&link);
            assert!(token.bytes().all(|b| b.is_ascii_hexdigit() || b == b'.'), "{token}");
            assert_eq!(key.open(&token), Ok(link));
        }
    }

    #[test]
    fn an_edited_score_or_another_channels_token_is_refused() {
        let key = LinkKey::new("channel-secret");
        let token = key.token(&Link::Rate { survey: survey(), score: Scale::NPS.score(1).unwrap() });
        let (payload, mac) = token.split_once('.').unwrap();
        let edited = String::from_utf8(hex::decode(payload).unwrap()).unwrap().replacen("r:1:", "r:5:", 1);
        assert_eq!(key.open(&format!("{}.{mac}", hex::encode(edited))), Err(LinkError::BadSignature));
        assert_eq!(LinkKey::new("another-secret").open(&token), Err(LinkError::BadSignature));
        let mut flipped = token.clone();
        flipped.pop();
        flipped.push(if token.ends_with('0') { '1' } else { '0' });
        assert_eq!(key.open(&flipped), Err(LinkError::BadSignature));
    }

    #[test]
    fn damaged_tokens_are_malformed() {
        let key = LinkKey::new("channel-secret");
        let signed = |payload: &str| format!("{}.{}", hex::encode(payload), hex::encode(key.mac(payload.as_bytes())));
        for token in [
            "",
            "abc",
            "zz.zz",
            "6162.",
            &signed("r:11:abc"),
            &signed("r:x:abc"),
            &signed("x:abc"),
            &signed("s:"),
            &signed("c:3:abc"),
            &signed("c:3:abc:"),
            &signed("c:9:abc:slow"),
        ] {
            assert_eq!(key.open(token), Err(LinkError::Malformed), "{token}");
        }
    }

    #[test]
    fn links_lead_under_the_channels_pages() {
        let links = Links::new("https://rw.example/email/acme/mail/", LinkKey::new("s"));
        let url = links.url(&Link::Survey(survey()));
        assert!(url.starts_with("https://rw.example/email/acme/mail/survey/"), "{url}");
    }
}
