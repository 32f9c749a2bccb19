# ratewire's shipped texts for end users. Every locale defines exactly these messages.
# Variables: $min and $max are the lowest and highest level of the survey's scale.

# Sent as the rating invitation.
invitation = 오늘 받으신 상담에 얼마나 만족하셨나요?
# Added where a channel can't show every level as a button.
answer-hint = { $min }부터 { $max }까지 숫자로 답장해 주세요.
# Label of the button that opens a list of levels (at most 20 characters).
rate-button = 평가하기
thank-you = 평가해 주셔서 감사합니다!
comment-prompt = 더 들려주실 이야기가 있으신가요? 간단히 몇 마디 남겨 주세요.
comment-thanks = 감사합니다. 남겨 주신 의견은 담당 팀에 전달했습니다.
reason-prompt = 불편을 드려 죄송합니다. 어떤 점이 아쉬우셨나요?
expiry-notice = 죄송합니다. 이 설문은 종료되어 더 이상 평가하실 수 없습니다.
unreadable-hint = 죄송합니다, 답변을 이해하지 못했습니다. { $min }부터 { $max }까지 숫자로 답장해 주세요.
rating-locked = 평가가 이미 완료되어 더 이상 변경할 수 없습니다.
reminder = 다시 한번 안내드립니다. 받으신 상담에 얼마나 만족하셨나요?

# Level labels for five-level scales (five stars, five faces, numbers 1 to 5).
label-5-1 = 매우 불만족
label-5-2 = 불만족
label-5-3 = 보통
label-5-4 = 만족
label-5-5 = 매우 만족
# The ends of other scales.
label-lowest = 매우 불만족
label-highest = 매우 만족
# The ends of the 0–10 Net Promoter scale.
nps-lowest = 전혀 추천하지 않음
nps-highest = 적극 추천함
nps-question = 저희를 친구나 동료에게 추천하실 가능성은 얼마나 되나요?

# Reasons offered after a low rating.
reason-slow = 응답이 느림
reason-unresolved = 문제가 해결되지 않음
reason-unfriendly = 불친절한 응대
reason-other = 기타

# The web widget's button that sends a comment.
widget-send = 보내기
widget-close = 닫기

# Email: the page a rating link opens asks this before the rating counts (link scanners open links too).
email-confirm-prompt = 이 평가가 맞습니까?
email-confirm = 평가 확정
# Email: the link to the survey's page, in messages that can't show the choices.
email-open-survey = 설문 열기
# Email: the unsubscribe link at the foot of every message, and the page it opens.
email-unsubscribe = 평가 요청 그만 받기
email-unsubscribe-prompt = 이 주소로 평가 요청을 더 이상 받지 않으시겠습니까?
email-unsubscribed = 완료되었습니다. 이 주소로 더 이상 평가 요청이 발송되지 않습니다.
# Email: the page of a link that is damaged or was edited.
email-link-invalid = 유효하지 않은 링크입니다. 이메일에 표시된 그대로 열어 주세요.
# Email: the page a reason link opens asks this before the reason counts.
email-reason-prompt = 이것이 불편하셨던 점인가요?
email-reason-confirm = 확인
# Email: a page's notice when what was sent no longer fits the survey (answered meanwhile, closed).
email-answer-not-taken = 이 응답은 더 이상 받을 수 없습니다. 현재 설문 상태는 다음과 같습니다.
# Email: a page's notice when the comment box was sent empty.
email-comment-empty = 보내기 전에 의견을 입력해 주세요.
# Email: a page shown when ratewire can't answer for a moment.
email-try-again = 문제가 발생했습니다. 잠시 후 다시 시도해 주세요.

# Questionnaires: the shipped text of a yes/no question whose id is `resolved`.
question-resolved = 문제가 해결되었나요?
# Questionnaires: a customer-effort question (1 to 7).
question-ces = 문제를 해결하기가 얼마나 쉬웠나요? 1(매우 어려움)부터 7(매우 쉬움)까지 답해 주세요.
# Questionnaires: a name question.
question-name = 성함이 어떻게 되세요?
question-email = 이메일 주소를 알려 주세요.
question-phone = 국가 번호를 포함한 전화번호를 알려 주세요.
# Questionnaires: a consent question; $url is the policy's link.
question-consent = 개인정보 처리방침에 동의하시나요? { $url }
# Questionnaires: the buttons of a yes/no question.
answer-yes = 예
answer-no = 아니요
# Questionnaires: asking again after a reply that could not be read.
reask-text = 읽을 수 없었어요. 다시 시도해 주세요.
reask-required = 계속하려면 이 항목이 필요해요.
reask-yes-no = 예 또는 아니요로 답해 주세요.
reask-choice = 옵션 중 하나를 고르거나 번호를 보내 주세요.
reask-email = 이메일 주소가 아닌 것 같아요. name@example.com 형식으로 보내 주세요.
reask-phone = 전화번호가 아닌 것 같아요. +82 10 1234 5678처럼 국가 번호와 함께 보내 주세요.
# $example is the business's example of the id.
reask-id = 올바르지 않은 것 같아요. { $example } 형식으로 보내 주세요.
reask-date = 날짜는 2026-12-31 형식으로 보내 주세요.
# Questionnaires: the closing text.
questionnaire-done = 감사합니다!
# Questionnaires: the end after a refused consent.
questionnaire-consent-refused = 알겠습니다. 동의 없이는 계속할 수 없어요.
# Questionnaires: the end after a required question's attempts ran out.
questionnaire-gave-up = 죄송해요, 계속할 수 없었어요. 상담원이 이어서 도와드릴게요.
# Questionnaires: how to leave out an optional question that is typed.
optional-hint = 선택 사항이에요. “건너뛰기”를 보내면 넘어갑니다.
# Questionnaires: a pre-chat's greeting for an end user whose name is known.
prechat-greeting = { $name }님, 안녕하세요!
