# ratewire's shipped texts for end users. Every locale defines exactly these messages.
# Variables: $min and $max are the lowest and highest level of the survey's scale.

# Sent as the rating invitation.
invitation = Como você avalia a ajuda que recebeu hoje?
# Added where a channel can't show every level as a button.
answer-hint = Responda com um número de { $min } a { $max }.
# Label of the button that opens a list of levels (at most 20 characters).
rate-button = Avaliar
thank-you = Obrigado pela sua avaliação!
comment-prompt = Quer nos contar mais? É só responder com algumas palavras.
comment-thanks = Obrigado! Já encaminhamos seu comentário para a equipe.
reason-prompt = Sentimos muito por isso. O que deu errado?
expiry-notice = Desculpe, esta pesquisa foi encerrada e não aceita mais avaliações.
unreadable-hint = Desculpe, não entendi. Responda com um número de { $min } a { $max }.
rating-locked = Sua avaliação é definitiva e não pode mais ser alterada.
reminder = Um lembrete rápido: como você avalia a ajuda que recebeu?

# Level labels for five-level scales (five stars, five faces, numbers 1 to 5).
label-5-1 = Muito insatisfeito
label-5-2 = Insatisfeito
label-5-3 = Neutro
label-5-4 = Satisfeito
label-5-5 = Muito satisfeito
# The ends of other scales.
label-lowest = Muito insatisfeito
label-highest = Muito satisfeito
# The ends of the 0–10 Net Promoter scale.
nps-lowest = Nada provável
nps-highest = Extremamente provável
nps-question = Qual é a probabilidade de você nos recomendar a um amigo ou colega?

# Reasons offered after a low rating.
reason-slow = Resposta demorada
reason-unresolved = Problema não resolvido
reason-unfriendly = Atendimento pouco cordial
reason-other = Outro motivo

# The web widget's button that sends a comment.
widget-send = Enviar
widget-close = Fechar

# Email: the page a rating link opens asks this before the rating counts (link scanners open links too).
email-confirm-prompt = Esta é a sua avaliação?
email-confirm = Confirmar minha avaliação
# Email: the link to the survey's page, in messages that can't show the choices.
email-open-survey = Abrir a pesquisa
# Email: the unsubscribe link at the foot of every message, and the page it opens.
email-unsubscribe = Não receber mais pedidos de avaliação
email-unsubscribe-prompt = Deixar de receber pedidos de avaliação neste endereço?
email-unsubscribed = Pronto: você não receberá mais pedidos de avaliação neste endereço.
# Email: the page of a link that is damaged or was edited.
email-link-invalid = Este link não é válido. Abra-o exatamente como aparece no e-mail.
# Email: the page a reason link opens asks this before the reason counts.
email-reason-prompt = Foi isso que deu errado?
email-reason-confirm = Confirmar
# Email: a page's notice when what was sent no longer fits the survey (answered meanwhile, closed).
email-answer-not-taken = Esta resposta não pode mais ser registrada. Veja a pesquisa como está agora.
# Email: a page's notice when the comment box was sent empty.
email-comment-empty = Escreva seu comentário antes de enviá-lo.
# Email: a page shown when ratewire can't answer for a moment.
email-try-again = Algo deu errado do nosso lado. Tente novamente em instantes.

# Questionnaires: the shipped text of a yes/no question whose id is `resolved`.
question-resolved = Seu problema foi resolvido?
# Questionnaires: a customer-effort question (1 to 7).
question-ces = Quão fácil foi resolver seu problema? Responda de 1 (muito difícil) a 7 (muito fácil).
# Questionnaires: a name question.
question-name = Qual é o seu nome?
question-email = Qual é o seu e-mail?
question-phone = Qual é o seu telefone? Inclua o código do país.
# Questionnaires: a consent question; $url is the policy's link.
question-consent = Você concorda com nossa política de privacidade? { $url }
# Questionnaires: the buttons of a yes/no question.
answer-yes = Sim
answer-no = Não
# Questionnaires: asking again after a reply that could not be read.
reask-text = Desculpe, não consegui ler. Tente de novo.
reask-required = Precisamos disso para continuar.
reask-yes-no = Responda sim ou não, por favor.
reask-choice = Escolha uma das opções ou envie o número dela.
reask-email = Isso não parece um e-mail. Envie assim: nome@exemplo.com.
reask-phone = Isso não parece um telefone. Envie com o código do país, assim: +55 11 91234 5678.
# $example is the business's example of the id.
reask-id = Isso não parece certo. Envie assim: { $example }.
reask-date = Envie a data assim: 2026-12-31.
# Questionnaires: the closing text.
questionnaire-done = Obrigado!
# Questionnaires: the end after a refused consent.
questionnaire-consent-refused = Entendido. Não podemos continuar sem o seu consentimento.
# Questionnaires: the end after a required question's attempts ran out.
questionnaire-gave-up = Desculpe, não conseguimos continuar. Um atendente seguirá daqui.
# Questionnaires: how to leave out an optional question that is typed.
optional-hint = Opcional: envie “pular” para deixar em branco.
# Questionnaires: a pre-chat's greeting for an end user whose name is known.
prechat-greeting = Olá, { $name }!
