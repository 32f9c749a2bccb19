# ratewire's shipped texts for end users. Every locale defines exactly these messages.
# Variables: $min and $max are the lowest and highest level of the survey's scale.

# Sent as the rating invitation.
invitation = How would you rate the help you received today?
# Added where a channel can't show every level as a button.
answer-hint = Reply with a number from { $min } to { $max }.
# Label of the button that opens a list of levels (at most 20 characters).
rate-button = Rate
thank-you = Thank you for your rating!
comment-prompt = Would you like to tell us more? Just reply with a few words.
comment-thanks = Thank you, we have passed your comment on to the team.
reason-prompt = Sorry to hear that. What went wrong?
expiry-notice = Sorry, this survey has closed and can no longer take a rating.
unreadable-hint = Sorry, I didn't understand that. Please reply with a number from { $min } to { $max }.
rating-locked = Your rating is final and can no longer be changed.
reminder = A quick reminder: how would you rate the help you received?

# Level labels for five-level scales (five stars, five faces, numbers 1 to 5).
label-5-1 = Very dissatisfied
label-5-2 = Dissatisfied
label-5-3 = Neutral
label-5-4 = Satisfied
label-5-5 = Very satisfied
# The ends of other scales.
label-lowest = Very dissatisfied
label-highest = Very satisfied
# The ends of the 0–10 Net Promoter scale.
nps-lowest = Not at all likely
nps-highest = Extremely likely
nps-question = How likely are you to recommend us to a friend or colleague?

# Reasons offered after a low rating.
reason-slow = Slow response
reason-unresolved = Problem not solved
reason-unfriendly = Unfriendly service
reason-other = Something else

# The web widget's button that sends a comment.
widget-send = Send
# The web widget's button that closes its floating card.
widget-close = Close

# Email: the page a rating link opens asks this before the rating counts (link scanners open links too).
email-confirm-prompt = Is this your rating?
email-confirm = Confirm my rating
# Email: the link to the survey's page, in messages that can't show the choices.
email-open-survey = Open the survey
# Email: the unsubscribe link at the foot of every message, and the page it opens.
email-unsubscribe = Stop rating requests
email-unsubscribe-prompt = Stop receiving rating requests at this address?
email-unsubscribed = Done: you will receive no more rating requests at this address.
# Email: the page of a link that is damaged or was edited.
email-link-invalid = This link is not valid. Please open it exactly as it appears in the email.
# Email: the page a reason link opens asks this before the reason counts.
email-reason-prompt = Is this what went wrong?
email-reason-confirm = Confirm
# Email: a page's notice when what was sent no longer fits the survey (answered meanwhile, closed).
email-answer-not-taken = This answer can no longer be taken. Here is the survey as it is now.
# Email: a page's notice when the comment box was sent empty.
email-comment-empty = Please write your comment before sending it.
# Email: a page shown when ratewire can't answer for a moment.
email-try-again = Something went wrong on our side. Please try again in a moment.

# Questionnaires: the shipped text of a yes/no question whose id is `resolved`.
question-resolved = Was your issue resolved?
# Questionnaires: a customer-effort question (1 to 7).
question-ces = How easy was it to get your issue resolved? Reply from 1 (very difficult) to 7 (very easy).
# Questionnaires: a name question.
question-name = What's your name?
question-email = What's your email address?
question-phone = What's your phone number? Please include the country code.
# Questionnaires: a consent question; $url is the policy's link.
question-consent = Do you agree to our privacy policy? { $url }
# Questionnaires: the buttons of a yes/no question.
answer-yes = Yes
answer-no = No
# Questionnaires: asking again after a reply that could not be read.
reask-text = Sorry, I couldn't read that. Please try again.
reask-required = We need this one to go on.
reask-yes-no = Please answer yes or no.
reask-choice = Please choose one of the options, or send its number.
reask-email = That doesn't look like an email address. Please send it like name@example.com.
reask-phone = That doesn't look like a phone number. Please send it with the country code, like +1 415 555 0123.
# $example is the business's example of the id.
reask-id = That doesn't look right. Please send it like { $example }.
reask-date = Please send the date like 2026-12-31.
# Questionnaires: the closing text.
questionnaire-done = Thank you!
# Questionnaires: the end after a refused consent.
questionnaire-consent-refused = Understood. We can't go on without your consent.
# Questionnaires: the end after a required question's attempts ran out.
questionnaire-gave-up = Sorry, we couldn't go on. An agent will take it from here.
# Questionnaires: how to leave out an optional question that is typed.
optional-hint = Optional: send “skip” to leave it out.
# Questionnaires: a pre-chat's greeting for an end user whose name is known.
prechat-greeting = Hi { $name }!
