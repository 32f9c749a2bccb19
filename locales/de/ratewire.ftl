# ratewire's shipped texts for end users. Every locale defines exactly these messages.
# Variables: $min and $max are the lowest and highest level of the survey's scale.

# Sent as the rating invitation.
invitation = Wie bewerten Sie die Hilfe, die Sie heute erhalten haben?
# Added where a channel can't show every level as a button.
answer-hint = Antworten Sie mit einer Zahl von { $min } bis { $max }.
# Label of the button that opens a list of levels (at most 20 characters).
rate-button = Bewerten
thank-you = Vielen Dank für Ihre Bewertung!
comment-prompt = Möchten Sie uns mehr erzählen? Antworten Sie einfach mit ein paar Worten.
comment-thanks = Vielen Dank, wir haben Ihren Kommentar an das Team weitergeleitet.
reason-prompt = Das tut uns leid. Was ist schiefgelaufen?
expiry-notice = Diese Umfrage ist leider bereits beendet, eine Bewertung ist nicht mehr möglich.
unreadable-hint = Entschuldigung, das habe ich nicht verstanden. Bitte antworten Sie mit einer Zahl von { $min } bis { $max }.
rating-locked = Ihre Bewertung ist endgültig und kann nicht mehr geändert werden.
reminder = Eine kurze Erinnerung: Wie bewerten Sie die Hilfe, die Sie erhalten haben?

# Level labels for five-level scales (five stars, five faces, numbers 1 to 5).
label-5-1 = Sehr unzufrieden
label-5-2 = Unzufrieden
label-5-3 = Neutral
label-5-4 = Zufrieden
label-5-5 = Sehr zufrieden
# The ends of other scales.
label-lowest = Sehr unzufrieden
label-highest = Sehr zufrieden
# The ends of the 0–10 Net Promoter scale.
nps-lowest = Äußerst unwahrscheinlich
nps-highest = Äußerst wahrscheinlich
nps-question = Wie wahrscheinlich ist es, dass Sie uns einem Freund oder Kollegen weiterempfehlen?

# Reasons offered after a low rating.
reason-slow = Langsame Antwort
reason-unresolved = Problem nicht gelöst
reason-unfriendly = Unfreundlicher Service
reason-other = Sonstiges

# The web widget's button that sends a comment.
widget-send = Senden
widget-close = Schließen

# Email: the page a rating link opens asks this before the rating counts (link scanners open links too).
email-confirm-prompt = Ist das Ihre Bewertung?
email-confirm = Bewertung bestätigen
# Email: the link to the survey's page, in messages that can't show the choices.
email-open-survey = Umfrage öffnen
# Email: the unsubscribe link at the foot of every message, and the page it opens.
email-unsubscribe = Keine Bewertungsanfragen mehr
email-unsubscribe-prompt = Keine Bewertungsanfragen mehr an diese Adresse senden?
email-unsubscribed = Erledigt: An diese Adresse werden keine Bewertungsanfragen mehr gesendet.
# Email: the page of a link that is damaged or was edited.
email-link-invalid = Dieser Link ist ungültig. Bitte öffnen Sie ihn genau so, wie er in der E-Mail steht.
# Email: the page a reason link opens asks this before the reason counts.
email-reason-prompt = Ist es das, was nicht gut lief?
email-reason-confirm = Bestätigen
# Email: a page's notice when what was sent no longer fits the survey (answered meanwhile, closed).
email-answer-not-taken = Diese Antwort kann nicht mehr angenommen werden. So steht die Umfrage jetzt.
# Email: a page's notice when the comment box was sent empty.
email-comment-empty = Bitte schreiben Sie Ihren Kommentar, bevor Sie ihn senden.
# Email: a page shown when ratewire can't answer for a moment.
email-try-again = Bei uns ist etwas schiefgelaufen. Bitte versuchen Sie es gleich noch einmal.

# Questionnaires: the shipped text of a yes/no question whose id is `resolved`.
question-resolved = Wurde Ihr Anliegen gelöst?
# Questionnaires: a customer-effort question (1 to 7).
question-ces = Wie einfach war es, Ihr Anliegen zu lösen? Antworten Sie von 1 (sehr schwer) bis 7 (sehr einfach).
# Questionnaires: a name question.
question-name = Wie heißen Sie?
question-email = Wie lautet Ihre E-Mail-Adresse?
question-phone = Wie lautet Ihre Telefonnummer? Bitte mit Ländervorwahl.
# Questionnaires: a consent question; $url is the policy's link.
question-consent = Stimmen Sie unserer Datenschutzerklärung zu? { $url }
# Questionnaires: the buttons of a yes/no question.
answer-yes = Ja
answer-no = Nein
# Questionnaires: asking again after a reply that could not be read.
reask-text = Das konnte ich leider nicht lesen. Bitte versuchen Sie es noch einmal.
reask-required = Diese Angabe brauchen wir, um fortzufahren.
reask-yes-no = Bitte antworten Sie mit Ja oder Nein.
reask-choice = Bitte wählen Sie eine der Optionen oder senden Sie ihre Nummer.
reask-email = Das sieht nicht nach einer E-Mail-Adresse aus. Bitte senden Sie sie so: name@beispiel.de.
reask-phone = Das sieht nicht nach einer Telefonnummer aus. Bitte mit Ländervorwahl senden, z. B. +49 151 23456789.
# $example is the business's example of the id.
reask-id = Das scheint nicht zu stimmen. Bitte senden Sie es so: { $example }.
reask-date = Bitte senden Sie das Datum so: 2026-12-31.
# Questionnaires: the closing text.
questionnaire-done = Vielen Dank!
# Questionnaires: the end after a refused consent.
questionnaire-consent-refused = Verstanden. Ohne Ihre Zustimmung können wir nicht fortfahren.
# Questionnaires: the end after a required question's attempts ran out.
questionnaire-gave-up = Leider konnten wir nicht fortfahren. Ein Mitarbeiter übernimmt.
# Questionnaires: how to leave out an optional question that is typed.
optional-hint = Optional: Senden Sie „überspringen“, um sie auszulassen.
# Questionnaires: a pre-chat's greeting for an end user whose name is known.
prechat-greeting = Hallo { $name }!
