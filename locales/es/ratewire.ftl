# ratewire's shipped texts for end users. Every locale defines exactly these messages.
# Variables: $min and $max are the lowest and highest level of the survey's scale.

# Sent as the rating invitation.
invitation = ¿Cómo calificaría la ayuda que recibió hoy?
# Added where a channel can't show every level as a button.
answer-hint = Responda con un número del { $min } al { $max }.
# Label of the button that opens a list of levels (at most 20 characters).
rate-button = Calificar
thank-you = ¡Gracias por su calificación!
comment-prompt = ¿Quiere contarnos algo más? Solo responda con unas palabras.
comment-thanks = Gracias, ya compartimos su comentario con el equipo.
reason-prompt = Lamentamos mucho escuchar eso. ¿Qué salió mal?
expiry-notice = Lo sentimos, esta encuesta ya se cerró y no acepta más calificaciones.
unreadable-hint = Lo siento, no entendí su respuesta. Por favor, responda con un número del { $min } al { $max }.
rating-locked = Su calificación es definitiva y ya no se puede cambiar.
reminder = Un breve recordatorio: ¿cómo calificaría la ayuda que recibió?

# Level labels for five-level scales (five stars, five faces, numbers 1 to 5).
label-5-1 = Muy insatisfecho
label-5-2 = Insatisfecho
label-5-3 = Neutral
label-5-4 = Satisfecho
label-5-5 = Muy satisfecho
# The ends of other scales.
label-lowest = Muy insatisfecho
label-highest = Muy satisfecho
# The ends of the 0–10 Net Promoter scale.
nps-lowest = Nada probable
nps-highest = Extremadamente probable
nps-question = ¿Qué tan probable es que nos recomiende a un amigo o colega?

# Reasons offered after a low rating.
reason-slow = Respuesta lenta
reason-unresolved = Problema no resuelto
reason-unfriendly = Atención poco amable
reason-other = Otro motivo

# The web widget's button that sends a comment.
widget-send = Enviar
widget-close = Cerrar

# Email: the page a rating link opens asks this before the rating counts (link scanners open links too).
email-confirm-prompt = ¿Es esta su calificación?
email-confirm = Confirmar mi calificación
# Email: the link to the survey's page, in messages that can't show the choices.
email-open-survey = Abrir la encuesta
# Email: the unsubscribe link at the foot of every message, and the page it opens.
email-unsubscribe = No recibir más solicitudes de calificación
email-unsubscribe-prompt = ¿Dejar de recibir solicitudes de calificación en esta dirección?
email-unsubscribed = Listo: ya no recibirá solicitudes de calificación en esta dirección.
# Email: the page of a link that is damaged or was edited.
email-link-invalid = Este enlace no es válido. Ábralo tal como aparece en el correo.
# Email: the page a reason link opens asks this before the reason counts.
email-reason-prompt = ¿Es esto lo que salió mal?
email-reason-confirm = Confirmar
# Email: a page's notice when what was sent no longer fits the survey (answered meanwhile, closed).
email-answer-not-taken = Esta respuesta ya no se puede registrar. Así está la encuesta ahora.
# Email: a page's notice when the comment box was sent empty.
email-comment-empty = Escriba su comentario antes de enviarlo.
# Email: a page shown when ratewire can't answer for a moment.
email-try-again = Algo salió mal de nuestro lado. Inténtelo de nuevo en un momento.

# Questionnaires: the shipped text of a yes/no question whose id is `resolved`.
question-resolved = ¿Se resolvió su problema?
# Questionnaires: a customer-effort question (1 to 7).
question-ces = ¿Qué tan fácil fue resolver su problema? Responda del 1 (muy difícil) al 7 (muy fácil).
# Questionnaires: a name question.
question-name = ¿Cómo se llama?
question-email = ¿Cuál es su correo electrónico?
question-phone = ¿Cuál es su número de teléfono? Incluya el código de país.
# Questionnaires: a consent question; $url is the policy's link.
question-consent = ¿Acepta nuestra política de privacidad? { $url }
# Questionnaires: the buttons of a yes/no question.
answer-yes = Sí
answer-no = No
# Questionnaires: asking again after a reply that could not be read.
reask-text = Disculpe, no pude leerlo. Inténtelo de nuevo.
reask-required = Necesitamos este dato para continuar.
reask-yes-no = Responda sí o no, por favor.
reask-choice = Elija una de las opciones o envíe su número.
reask-email = Eso no parece un correo electrónico. Envíelo así: nombre@ejemplo.com.
reask-phone = Eso no parece un número de teléfono. Envíelo con el código de país, así: +34 612 345 678.
# $example is the business's example of the id.
reask-id = Eso no parece correcto. Envíelo así: { $example }.
reask-date = Envíe la fecha así: 2026-12-31.
# Questionnaires: the closing text.
questionnaire-done = ¡Gracias!
# Questionnaires: the end after a refused consent.
questionnaire-consent-refused = Entendido. No podemos continuar sin su consentimiento.
# Questionnaires: the end after a required question's attempts ran out.
questionnaire-gave-up = Lo sentimos, no pudimos continuar. Un agente seguirá desde aquí.
# Questionnaires: how to leave out an optional question that is typed.
optional-hint = Opcional: envíe «saltar» para omitirla.
# Questionnaires: a pre-chat's greeting for an end user whose name is known.
prechat-greeting = ¡Hola, { $name }!
