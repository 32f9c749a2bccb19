//! A message to an end user as an email: plain text and HTML alternatives in the end user's
//! language, one link per level for an invitation, and the headers that thread replies back to
//! the survey and let the end user unsubscribe in one click (RFC 8058).

use askama::Template;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use ratewire_core::{Catalog, Message, RecipientId, Scale, SurveyId};
use sha2::{Digest, Sha256};

use super::links::{Link, Links};
use crate::{ChoicePayload, Content, InvitationLayout, Outbound, SendError, truncate};

/// The longest subject line, in characters: the invitation's text is cut to it.
const MAX_SUBJECT: usize = 120;

/// Who a channel's messages come from, and where their links lead.
#[derive(Debug, Clone)]
pub(super) struct Sender {
    pub from: Mailbox,
    /// Replies go here, plus-addressed with the survey's id (`ratings+<survey>@…`); to `from`
    /// when not set.
    pub reply_to: Option<lettre::Address>,
    pub links: Links,
}

/// The `Message-ID` of a survey's message: `<rw.<survey>.<tag>@<sender's domain>>`, so a reply's
/// `In-Reply-To` names the survey. The invitation's tag is `invitation`; other messages are
/// tagged by their send, so a retried send keeps its id.
pub(super) fn message_id(survey: &SurveyId, tag: &str, domain: &str) -> String {
    format!("<rw.{survey}.{tag}@{domain}>")
}

/// The survey a `Message-ID` (with or without its angle brackets) names, if ratewire made it.
pub(super) fn survey_of_message_id(id: &str) -> Option<SurveyId> {
    let id = id.trim().trim_start_matches('<').trim_end_matches('>');
    let (local, _domain) = id.rsplit_once('@')?;
    let (survey, _tag) = local.strip_prefix("rw.")?.rsplit_once('.')?;
    SurveyId::new(survey).ok()
}

/// The email for an outbound message, and its `Message-ID` (without angle brackets).
pub(super) fn email(sender: &Sender, message: &Outbound) -> Result<(lettre::Message, String), SendError> {
    let Some(survey) = &message.survey else {
        return Err(SendError::Permanent(ratewire_core::FailureReason {
            code: "not_a_survey".into(),
            detail: "email carries surveys only: a pre-chat is asked on messaging channels".into(),
        }));
    };
    let to = mailbox(&message.recipient)?;
    let domain = sender.from.email.domain().to_owned();
    let locale = message.context.locale;
    let invitation_id = message_id(survey, "invitation", &domain);
    let unsubscribe = sender.links.url(&Link::Unsubscribe(message.recipient.clone()));
    let frame = Frame {
        lang: locale.tag(),
        dir: if locale.is_rtl() { "rtl" } else { "ltr" },
        unsubscribe: &unsubscribe,
        unsubscribe_text: Catalog::shipped().scale_free_text(locale, Message::EmailUnsubscribe),
    };
    let (id, body) = match &message.content {
        Content::Invitation { text, layout } => {
            (invitation_id.clone(), invitation(sender, message, survey, text, layout, &frame)?)
        }
        Content::Choices { text, choices } => {
            let choices: Vec<(Option<String>, &str)> =
                choices.iter().map(|(payload, title)| (reason_link(sender, survey, payload), title.as_str())).collect();
            (follow_up_id(message, survey, &domain), follow_up(sender, message, survey, text, &choices, &frame)?)
        }
        Content::Text(text) => {
            (follow_up_id(message, survey, &domain), follow_up(sender, message, survey, text, &[], &frame)?)
        }
    };
    // Every message of a survey carries the invitation's subject, a follow-up as a reply to it:
    // mail clients (Gmail first) thread by subject as well as by `In-Reply-To`.
    let subject = truncate(&message.invitation, MAX_SUBJECT);
    let subject = if id == invitation_id { subject } else { format!("Re: {subject}") };
    let mut builder = lettre::Message::builder()
        .from(sender.from.clone())
        .to(to)
        .subject(subject)
        .message_id(Some(id.clone()))
        .raw_header(header("List-Unsubscribe", &format!("<{unsubscribe}>")))
        .raw_header(header("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))
        // Sent by a program (RFC 3834): out-of-office responders don't answer it.
        .raw_header(header("Auto-Submitted", "auto-generated"))
        .raw_header(header("Content-Language", locale.tag()));
    if let Some(reply_to) = plus_address(sender.reply_to.as_ref(), survey) {
        builder = builder.reply_to(Mailbox::new(None, reply_to));
    }
    if id != invitation_id {
        builder = builder.in_reply_to(invitation_id.clone()).references(invitation_id);
    }
    let text = format!("{}\n\n-- \n{}: {}\n", body.text, frame.unsubscribe_text, frame.unsubscribe);
    let email = builder.multipart(MultiPart::alternative_plain_html(text, body.html)).map_err(unbuilt)?;
    Ok((email, id.trim_start_matches('<').trim_end_matches('>').to_owned()))
}

/// An end user's address as a mailbox; an id that is no address fails the send for good.
fn mailbox(recipient: &RecipientId) -> Result<Mailbox, SendError> {
    recipient.as_str().parse::<lettre::Address>().map(|address| Mailbox::new(None, address)).map_err(|error| {
        SendError::Permanent(ratewire_core::FailureReason {
            code: "invalid_recipient".into(),
            detail: format!("{recipient} is not an email address: {error}"),
        })
    })
}

/// `local+<survey>@domain` for the reply-to address, when the survey id fits in an address.
pub(super) fn plus_address(base: Option<&lettre::Address>, survey: &SurveyId) -> Option<lettre::Address> {
    let base = base?;
    lettre::Address::new(format!("{}+{survey}", base.user()), base.domain()).ok()
}

/// A follow-up's id: tagged by a digest of its send, so a retry keeps it.
fn follow_up_id(message: &Outbound, survey: &SurveyId, domain: &str) -> String {
    let digest = Sha256::digest(message.idempotency_key.as_bytes());
    message_id(survey, &hex::encode(&digest[..8]), domain)
}

/// A reason's own link, which gives it on the survey's page: a reason typed in a reply would
/// read as a comment.
fn reason_link(sender: &Sender, survey: &SurveyId, payload: &str) -> Option<String> {
    match ChoicePayload::decode(payload)? {
        ChoicePayload::Reason { reason, .. } => {
            Some(sender.links.url(&Link::Reason { survey: survey.clone(), reason }))
        }
        ChoicePayload::Score { .. } | ChoicePayload::Answer { .. } => None,
    }
}

fn header(name: &'static str, value: &str) -> HeaderValue {
    HeaderValue::new(HeaderName::new_from_ascii_str(name), value.to_owned())
}

/// The email could not be built from its parts: no retry would build it.
fn unbuilt(error: impl std::fmt::Display) -> SendError {
    SendError::Permanent(ratewire_core::FailureReason {
        code: "rejected".into(),
        detail: format!("the email could not be built: {error}"),
    })
}

/// What a message says, in both forms.
struct Body {
    text: String,
    /// The whole HTML document.
    html: String,
}

/// What the layout of every email's HTML part (`base.html`) shows around the message: its
/// language and direction, and the unsubscribe link that also ends the plain text.
struct Frame<'a> {
    lang: &'static str,
    dir: &'static str,
    unsubscribe: &'a str,
    unsubscribe_text: String,
}

#[derive(Template)]
#[template(path = "email/invitation.html")]
struct InvitationHtml<'a> {
    frame: &'a Frame<'a>,
    question: &'a str,
    choices: Vec<RateButton<'a>>,
    hint: &'a str,
}

/// A level's button: its link, and what it shows.
struct RateButton<'a> {
    url: String,
    title: &'a str,
    label: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "email/follow_up.html")]
struct FollowUpHtml<'a> {
    frame: &'a Frame<'a>,
    said: &'a str,
    /// Each choice's link, where it has one, and title.
    choices: &'a [(Option<String>, &'a str)],
    /// The survey's page, and the text of its link.
    page: &'a str,
    open: &'a str,
}

fn invitation(
    sender: &Sender,
    message: &Outbound,
    survey: &SurveyId,
    question: &str,
    layout: &InvitationLayout,
    frame: &Frame<'_>,
) -> Result<Body, SendError> {
    let locale = message.context.locale;
    let choices = match layout {
        InvitationLayout::Choices(choices) => choices,
        InvitationLayout::TypedAnswer { hint } => {
            return follow_up(sender, message, survey, &format!("{question}\n\n{hint}"), &[], frame);
        }
    };
    let mut text = format!("{question}\n");
    let mut buttons = Vec::with_capacity(choices.len());
    for choice in choices {
        let url = sender.links.url(&Link::Rate { survey: survey.clone(), score: choice.score });
        let shown = match &choice.label {
            Some(label) => format!("{} {label}", choice.title),
            None => choice.title.clone(),
        };
        text.push_str(&format!("\n{shown}: {url}"));
        buttons.push(RateButton { url, title: &choice.title, label: choice.label.as_deref() });
    }
    // The reply can be read too: a number from the lowest to the highest level.
    let hint = match (choices.first(), choices.last()) {
        (Some(low), Some(high)) => Scale::numeric(low.score.value(), high.score.value())
            .map(|scale| Catalog::shipped().text(locale, Message::AnswerHint, scale))
            .unwrap_or_default(),
        _ => String::new(),
    };
    if !hint.is_empty() {
        text.push_str(&format!("\n\n{hint}"));
    }
    let html = InvitationHtml { frame, question, choices: buttons, hint: &hint }.render().map_err(unbuilt)?;
    Ok(Body { text, html })
}

/// A message that isn't the invitation: its text, the choices it offers (each with its link,
/// where it has one), and the survey's page, where everything is answered.
fn follow_up(
    sender: &Sender,
    message: &Outbound,
    survey: &SurveyId,
    said: &str,
    choices: &[(Option<String>, &str)],
    frame: &Frame<'_>,
) -> Result<Body, SendError> {
    let page = sender.links.url(&Link::Survey(survey.clone()));
    let open = Catalog::shipped().scale_free_text(message.context.locale, Message::EmailOpenSurvey);
    let mut text = said.to_owned();
    if !choices.is_empty() {
        text.push('\n');
        for (link, title) in choices {
            match link {
                Some(url) => text.push_str(&format!("\n- {title}: {url}")),
                None => text.push_str(&format!("\n- {title}")),
            }
        }
    }
    text.push_str(&format!("\n\n{open}: {page}"));
    let html = FollowUpHtml { frame, said, choices, page: &page, open: &open }.render().map_err(unbuilt)?;
    Ok(Body { text, html })
}

#[cfg(test)]
mod tests {
    use mail_parser::MessageParser;
    use ratewire_core::{Labels, Locale, Origin};

    use super::*;
    use crate::email::{LinkKey, capabilities};
    use crate::{SendContext, plan_invitation};

    fn sender(reply_to: Option<&str>) -> Sender {
        Sender {
            from: "Acme <help@acme.example>".parse().unwrap(),
            reply_to: reply_to.map(|r| r.parse().unwrap()),
            links: Links::new("https://rw.example/email/acme/mail", LinkKey::new("secret")),
        }
    }

    fn outbound(content: Content, locale: Locale, key: &str) -> Outbound {
        Outbound {
            survey: Some(SurveyId::new("0123456789abcdef0123456789abcdef").unwrap()),
            recipient: RecipientId::new("ana@example.com").unwrap(),
            content,
            idempotency_key: key.into(),
            invitation: "How did we do? <b>".into(),
            context: SendContext {
                now: jiff::Timestamp::UNIX_EPOCH,
                last_inbound_at: None,
                origin: Origin::Agent,
                locale,
            },
        }
    }

    fn invitation_content(survey: &SurveyId, label: &str) -> Content {
        let scale = Scale::FIVE_STARS;
        let labels = Labels::new([(scale.score(1).unwrap(), label.to_owned())].into());
        let layout = plan_invitation(survey, scale, &labels, "", &capabilities());
        Content::Invitation { text: "How did we do? <b>".into(), layout }
    }

    #[test]
    fn an_invitation_has_a_link_per_level_in_both_parts_and_escapes_the_texts() {
        let survey = SurveyId::new("0123456789abcdef0123456789abcdef").unwrap();
        let message = outbound(invitation_content(&survey, "Awful <script>"), Locale::Ar, "send_x_invitation");
        let (email, id) = email(&sender(Some("ratings@acme.example")), &message).unwrap();
        assert_eq!(id, format!("rw.{survey}.invitation@acme.example"));
        let raw = email.formatted();
        let parsed = MessageParser::default().parse(&raw).unwrap();
        assert_eq!(parsed.subject(), Some("How did we do? <b>"));
        assert_eq!(parsed.in_reply_to().as_text(), None);
        let text = parsed.body_text(0).unwrap();
        let html = parsed.body_html(0).unwrap();
        assert_eq!(text.matches("https://rw.example/email/acme/mail/rate/").count(), 5, "{text}");
        assert_eq!(html.matches("href=\"https://rw.example/email/acme/mail/rate/").count(), 5, "{html}");
        assert!(text.contains("⭐ Awful <script>: https://"), "{text}");
        assert!(html.contains("Awful &#60;script&#62;") && !html.contains("<script>"), "{html}");
        assert!(html.contains("How did we do? &#60;b&#62;"), "{html}");
        assert!(html.starts_with("<!doctype html><html lang=\"ar\" dir=\"rtl\">"), "{html}");
        assert!(text.contains("يُرجى الرد برقم من 1 إلى 5."), "{text}");
    }

    #[test]
    fn follow_ups_thread_under_the_invitation_and_link_the_survey_page() {
        let reasons = Content::Choices {
            text: "What went wrong?".into(),
            choices: vec![("rw1:r:x:slow".into(), "Slow response".into())],
        };
        let message = outbound(reasons, Locale::En, "send_x_askreason-2");
        let (email, id) = email(&sender(None), &message).unwrap();
        let again = email_id(&message);
        assert_eq!(id, again, "a retried send keeps its Message-ID");
        assert_ne!(id, format!("rw.{}.invitation@acme.example", message.survey.as_ref().unwrap()));
        let raw = email.formatted();
        let parsed = MessageParser::default().parse(&raw).unwrap();
        let invitation = format!("rw.{}.invitation@acme.example", message.survey.as_ref().unwrap());
        assert_eq!(parsed.in_reply_to().as_text(), Some(invitation.as_str()));
        assert_eq!(parsed.references().as_text(), Some(invitation.as_str()));
        assert_eq!(parsed.reply_to(), None);
        let text = parsed.body_text(0).unwrap();
        assert_eq!(parsed.subject(), Some("Re: How did we do? <b>"), "a follow-up threads under the invitation");
        // Each reason is its own link: typed back, "Slow response" would read as a comment.
        assert!(text.contains("- Slow response: https://rw.example/email/acme/mail/reason/"), "{text}");
        let html = parsed.body_html(0).unwrap();
        assert!(html.contains("<li><a href=\"https://rw.example/email/acme/mail/reason/"), "{html}");
        assert!(text.contains("Open the survey: https://rw.example/email/acme/mail/survey/"), "{text}");
    }

    #[test]
    fn a_follow_up_escapes_what_it_says_and_offers() {
        let hostile = Content::Choices {
            text: "<script>alert(1)</script>\nOr tell us".into(),
            choices: vec![
                ("rw1:r:x:slow".into(), "\"><img src=x onerror=alert(1)>".into()),
                ("no payload".into(), "<b>Other</b>".into()),
            ],
        };
        let message = outbound(hostile, Locale::En, "send_x_askreason-2");
        let raw = email(&sender(None), &message).unwrap().0.formatted();
        let parsed = MessageParser::default().parse(&raw).unwrap();
        let html = parsed.body_html(0).unwrap();
        assert!(html.contains(">&#60;script&#62;alert(1)&#60;/script&#62;<br>Or tell us</p>"), "{html}");
        assert!(html.contains("\">&#34;&#62;&#60;img src=x onerror=alert(1)&#62;</a></li>"), "{html}");
        assert!(html.contains("<li>&#60;b&#62;Other&#60;/b&#62;</li>"), "{html}");
        assert!(!html.contains("<script") && !html.contains("<img") && !html.contains("<b>"), "{html}");
    }

    fn email_id(message: &Outbound) -> String {
        email(&sender(None), message).unwrap().1
    }

    #[test]
    fn an_address_that_is_none_fails_for_good() {
        let mut message = outbound(Content::Text("hi".into()), Locale::En, "k");
        message.recipient = RecipientId::new("not-an-address").unwrap();
        let Err(SendError::Permanent(reason)) = email(&sender(None), &message) else { panic!("permanent") };
        assert_eq!(reason.code, "invalid_recipient");
    }

    #[test]
    fn message_ids_name_their_survey() {
        let survey = SurveyId::new("0123456789abcdef0123456789abcdef").unwrap();
        let id = message_id(&survey, "invitation", "acme.example");
        assert_eq!(id, "<rw.0123456789abcdef0123456789abcdef.invitation@acme.example>");
        assert_eq!(survey_of_message_id(&id), Some(survey.clone()));
        assert_eq!(survey_of_message_id(" rw.a.b.c.3f@x "), Some(SurveyId::new("a.b.c").unwrap()));
        for foreign in ["<CAF=abc@mail.gmail.com>", "<rw.@x>", "", "<rw.x@y>"] {
            assert_eq!(survey_of_message_id(foreign), None, "{foreign}");
        }
    }

    #[test]
    fn replies_are_plus_addressed_with_the_survey() {
        let survey = SurveyId::new("3f0c").unwrap();
        let base: lettre::Address = "ratings@in.acme.example".parse().unwrap();
        assert_eq!(plus_address(Some(&base), &survey).unwrap().to_string(), "ratings+3f0c@in.acme.example");
        assert_eq!(plus_address(None, &survey), None);
    }
}
