# ratewire's shipped texts for end users. Every locale defines exactly these messages.
# Variables: $min and $max are the lowest and highest level of the survey's scale.

# Sent as the rating invitation.
invitation = Как вы оцените помощь, которую получили сегодня?
# Added where a channel can't show every level as a button.
answer-hint = Ответьте числом от { $min } до { $max }.
# Label of the button that opens a list of levels (at most 20 characters).
rate-button = Оценить
thank-you = Спасибо за вашу оценку!
comment-prompt = Хотите рассказать подробнее? Просто напишите пару слов в ответ.
comment-thanks = Спасибо, мы передали ваш комментарий команде.
reason-prompt = Нам очень жаль. Что пошло не так?
expiry-notice = Извините, этот опрос уже закрыт, и оставить оценку больше нельзя.
unreadable-hint = Извините, не удалось распознать ответ. Пожалуйста, ответьте числом от { $min } до { $max }.
rating-locked = Ваша оценка окончательная, изменить её уже нельзя.
reminder = Небольшое напоминание: как вы оцените полученную помощь?

# Level labels for five-level scales (five stars, five faces, numbers 1 to 5).
label-5-1 = Очень недоволен
label-5-2 = Недоволен
label-5-3 = Нейтрально
label-5-4 = Доволен
label-5-5 = Очень доволен
# The ends of other scales.
label-lowest = Очень недоволен
label-highest = Очень доволен
# The ends of the 0–10 Net Promoter scale.
nps-lowest = Крайне маловероятно
nps-highest = Крайне вероятно
nps-question = Насколько вероятно, что вы порекомендуете нас друзьям или коллегам?

# Reasons offered after a low rating.
reason-slow = Медленный ответ
reason-unresolved = Проблема не решена
reason-unfriendly = Неприветливое обслуживание
reason-other = Другое

# The web widget's button that sends a comment.
widget-send = Отправить
widget-close = Закрыть

# Email: the page a rating link opens asks this before the rating counts (link scanners open links too).
email-confirm-prompt = Это ваша оценка?
email-confirm = Подтвердить оценку
# Email: the link to the survey's page, in messages that can't show the choices.
email-open-survey = Открыть опрос
# Email: the unsubscribe link at the foot of every message, and the page it opens.
email-unsubscribe = Больше не получать запросы оценки
email-unsubscribe-prompt = Больше не присылать запросы оценки на этот адрес?
email-unsubscribed = Готово: запросы оценки на этот адрес больше приходить не будут.
# Email: the page of a link that is damaged or was edited.
email-link-invalid = Эта ссылка недействительна. Откройте её в точности так, как она указана в письме.
# Email: the page a reason link opens asks this before the reason counts.
email-reason-prompt = Дело было в этом?
email-reason-confirm = Подтвердить
# Email: a page's notice when what was sent no longer fits the survey (answered meanwhile, closed).
email-answer-not-taken = Этот ответ больше не может быть принят. Вот опрос в его текущем состоянии.
# Email: a page's notice when the comment box was sent empty.
email-comment-empty = Напишите комментарий, прежде чем отправлять его.
# Email: a page shown when ratewire can't answer for a moment.
email-try-again = У нас что-то пошло не так. Попробуйте ещё раз через минуту.

# Questionnaires: the shipped text of a yes/no question whose id is `resolved`.
question-resolved = Ваш вопрос решён?
# Questionnaires: a customer-effort question (1 to 7).
question-ces = Насколько легко было решить ваш вопрос? Ответьте от 1 (очень трудно) до 7 (очень легко).
# Questionnaires: a name question.
question-name = Как вас зовут?
question-email = Какой у вас адрес электронной почты?
question-phone = Какой у вас номер телефона? Укажите код страны.
# Questionnaires: a consent question; $url is the policy's link.
question-consent = Вы согласны с нашей политикой конфиденциальности? { $url }
# Questionnaires: the buttons of a yes/no question.
answer-yes = Да
answer-no = Нет
# Questionnaires: asking again after a reply that could not be read.
reask-text = Не удалось прочитать. Попробуйте ещё раз.
reask-required = Без этого мы не можем продолжить.
reask-yes-no = Ответьте, пожалуйста, «да» или «нет».
reask-choice = Выберите один из вариантов или отправьте его номер.
reask-email = Это не похоже на адрес почты. Отправьте его так: name@example.com.
reask-phone = Это не похоже на номер телефона. Отправьте его с кодом страны, например +7 912 345-67-89.
# $example is the business's example of the id.
reask-id = Это не похоже на правильный ответ. Отправьте так: { $example }.
reask-date = Отправьте дату так: 2026-12-31.
# Questionnaires: the closing text.
questionnaire-done = Спасибо!
# Questionnaires: the end after a refused consent.
questionnaire-consent-refused = Понятно. Без вашего согласия мы не можем продолжить.
# Questionnaires: the end after a required question's attempts ran out.
questionnaire-gave-up = К сожалению, продолжить не удалось. Дальше вам поможет оператор.
# Questionnaires: how to leave out an optional question that is typed.
optional-hint = Необязательно: отправьте «пропустить», чтобы не отвечать.
# Questionnaires: a pre-chat's greeting for an end user whose name is known.
prechat-greeting = Здравствуйте, { $name }!
