# ratewire's shipped texts for end users. Every locale defines exactly these messages.
# Variables: $min and $max are the lowest and highest level of the survey's scale.

# Sent as the rating invitation.
invitation = Comment évaluez-vous l’aide que vous avez reçue aujourd’hui ?
# Added where a channel can't show every level as a button.
answer-hint = Répondez par un nombre de { $min } à { $max }.
# Label of the button that opens a list of levels (at most 20 characters).
rate-button = Évaluer
thank-you = Merci pour votre évaluation !
comment-prompt = Vous souhaitez nous en dire plus ? Répondez simplement en quelques mots.
comment-thanks = Merci, nous avons transmis votre commentaire à l’équipe.
reason-prompt = Nous sommes désolés de l’apprendre. Qu’est-ce qui n’a pas fonctionné ?
expiry-notice = Désolés, cette enquête est close et n’accepte plus d’évaluation.
unreadable-hint = Désolé, je n’ai pas compris. Merci de répondre par un nombre de { $min } à { $max }.
rating-locked = Votre évaluation est définitive et ne peut plus être modifiée.
reminder = Petit rappel : comment évaluez-vous l’aide que vous avez reçue ?

# Level labels for five-level scales (five stars, five faces, numbers 1 to 5).
label-5-1 = Très insatisfait
label-5-2 = Insatisfait
label-5-3 = Neutre
label-5-4 = Satisfait
label-5-5 = Très satisfait
# The ends of other scales.
label-lowest = Très insatisfait
label-highest = Très satisfait
# The ends of the 0–10 Net Promoter scale.
nps-lowest = Pas du tout probable
nps-highest = Extrêmement probable
nps-question = Quelle est la probabilité que vous nous recommandiez à un ami ou à un collègue ?

# Reasons offered after a low rating.
reason-slow = Réponse trop lente
reason-unresolved = Problème non résolu
reason-unfriendly = Accueil peu aimable
reason-other = Autre raison

# The web widget's button that sends a comment.
widget-send = Envoyer
widget-close = Fermer

# Email: the page a rating link opens asks this before the rating counts (link scanners open links too).
email-confirm-prompt = Est-ce bien votre évaluation ?
email-confirm = Confirmer mon évaluation
# Email: the link to the survey's page, in messages that can't show the choices.
email-open-survey = Ouvrir l’enquête
# Email: the unsubscribe link at the foot of every message, and the page it opens.
email-unsubscribe = Ne plus recevoir de demandes d’évaluation
email-unsubscribe-prompt = Ne plus recevoir de demandes d’évaluation à cette adresse ?
email-unsubscribed = C’est fait : vous ne recevrez plus de demandes d’évaluation à cette adresse.
# Email: the page of a link that is damaged or was edited.
email-link-invalid = Ce lien n’est pas valide. Ouvrez-le tel qu’il figure dans l’e-mail.
# Email: the page a reason link opens asks this before the reason counts.
email-reason-prompt = Est-ce bien ce qui n’a pas été ?
email-reason-confirm = Confirmer
# Email: a page's notice when what was sent no longer fits the survey (answered meanwhile, closed).
email-answer-not-taken = Cette réponse ne peut plus être prise en compte. Voici l’enquête telle qu’elle est maintenant.
# Email: a page's notice when the comment box was sent empty.
email-comment-empty = Écrivez votre commentaire avant de l’envoyer.
# Email: a page shown when ratewire can't answer for a moment.
email-try-again = Un problème est survenu de notre côté. Réessayez dans un instant.

# Questionnaires: the shipped text of a yes/no question whose id is `resolved`.
question-resolved = Votre problème a-t-il été résolu ?
# Questionnaires: a customer-effort question (1 to 7).
question-ces = Était-il facile de résoudre votre problème ? Répondez de 1 (très difficile) à 7 (très facile).
# Questionnaires: a name question.
question-name = Quel est votre nom ?
question-email = Quelle est votre adresse e-mail ?
question-phone = Quel est votre numéro de téléphone ? Indiquez l'indicatif du pays.
# Questionnaires: a consent question; $url is the policy's link.
question-consent = Acceptez-vous notre politique de confidentialité ? { $url }
# Questionnaires: the buttons of a yes/no question.
answer-yes = Oui
answer-no = Non
# Questionnaires: asking again after a reply that could not be read.
reask-text = Désolé, je n'ai pas pu le lire. Veuillez réessayer.
reask-required = Nous en avons besoin pour continuer.
reask-yes-no = Répondez par oui ou par non, s'il vous plaît.
reask-choice = Choisissez l'une des options ou envoyez son numéro.
reask-email = Cela ne ressemble pas à une adresse e-mail. Envoyez-la ainsi : nom@exemple.fr.
reask-phone = Cela ne ressemble pas à un numéro de téléphone. Envoyez-le avec l'indicatif, par exemple +33 6 12 34 56 78.
# $example is the business's example of the id.
reask-id = Cela ne semble pas correct. Envoyez-le ainsi : { $example }.
reask-date = Envoyez la date ainsi : 2026-12-31.
# Questionnaires: the closing text.
questionnaire-done = Merci !
# Questionnaires: the end after a refused consent.
questionnaire-consent-refused = Entendu. Nous ne pouvons pas continuer sans votre consentement.
# Questionnaires: the end after a required question's attempts ran out.
questionnaire-gave-up = Désolé, nous n'avons pas pu continuer. Un agent prend le relais.
# Questionnaires: how to leave out an optional question that is typed.
optional-hint = Facultatif : envoyez « passer » pour l'ignorer.
# Questionnaires: a pre-chat's greeting for an end user whose name is known.
prechat-greeting = Bonjour { $name } !
