# ratewire's shipped texts for end users. Every locale defines exactly these messages.
# Variables: $min and $max are the lowest and highest level of the survey's scale.

# Sent as the rating invitation.
invitation = 請問您如何評價今天獲得的協助？
# Added where a channel can't show every level as a button.
answer-hint = 請回覆 { $min } 到 { $max } 之間的數字。
# Label of the button that opens a list of levels (at most 20 characters).
rate-button = 評分
thank-you = 感謝您的評分！
comment-prompt = 還有什麼想告訴我們的嗎？直接回覆幾句話就可以了。
comment-thanks = 謝謝，我們已將您的意見轉達給團隊。
reason-prompt = 很抱歉讓您有不好的體驗。請問是哪裡出了問題？
expiry-notice = 抱歉，本次調查已結束，無法再送出評分。
unreadable-hint = 抱歉，我不太明白您的回覆。請回覆 { $min } 到 { $max } 之間的數字。
rating-locked = 您的評分已送出，無法再修改。
reminder = 溫馨提醒：請問您如何評價我們提供的協助？

# Level labels for five-level scales (five stars, five faces, numbers 1 to 5).
label-5-1 = 非常不滿意
label-5-2 = 不滿意
label-5-3 = 普通
label-5-4 = 滿意
label-5-5 = 非常滿意
# The ends of other scales.
label-lowest = 非常不滿意
label-highest = 非常滿意
# The ends of the 0–10 Net Promoter scale.
nps-lowest = 完全不可能
nps-highest = 非常有可能
nps-question = 您有多大可能會向朋友或同事推薦我們？

# Reasons offered after a low rating.
reason-slow = 回覆太慢
reason-unresolved = 問題未解決
reason-unfriendly = 服務態度不佳
reason-other = 其他原因

# The web widget's button that sends a comment.
widget-send = 送出
widget-close = 關閉

# Email: the page a rating link opens asks this before the rating counts (link scanners open links too).
email-confirm-prompt = 這是您的評分嗎？
email-confirm = 確認我的評分
# Email: the link to the survey's page, in messages that can't show the choices.
email-open-survey = 開啟問卷
# Email: the unsubscribe link at the foot of every message, and the page it opens.
email-unsubscribe = 不再接收評分邀請
email-unsubscribe-prompt = 不再向此地址傳送評分邀請？
email-unsubscribed = 已完成：此地址將不會再收到評分邀請。
# Email: the page of a link that is damaged or was edited.
email-link-invalid = 此連結無效。請依照郵件中顯示的原樣開啟連結。
# Email: the page a reason link opens asks this before the reason counts.
email-reason-prompt = 是這方面出了問題嗎？
email-reason-confirm = 確認
# Email: a page's notice when what was sent no longer fits the survey (answered meanwhile, closed).
email-answer-not-taken = 此回答已無法提交。以下是問卷目前的狀態。
# Email: a page's notice when the comment box was sent empty.
email-comment-empty = 請先填寫您的意見再送出。
# Email: a page shown when ratewire can't answer for a moment.
email-try-again = 我們這邊出了點問題，請稍後再試。

# Questionnaires: the shipped text of a yes/no question whose id is `resolved`.
question-resolved = 您的問題解決了嗎？
# Questionnaires: a customer-effort question (1 to 7).
question-ces = 解決您的問題有多容易？請回覆 1（非常困難）到 7（非常容易）。
# Questionnaires: a name question.
question-name = 請問您怎麼稱呼？
question-email = 請問您的電子郵件地址是？
question-phone = 請問您的電話號碼是？請包含國碼。
# Questionnaires: a consent question; $url is the policy's link.
question-consent = 您同意我們的隱私權政策嗎？{ $url }
# Questionnaires: the buttons of a yes/no question.
answer-yes = 是
answer-no = 否
# Questionnaires: asking again after a reply that could not be read.
reask-text = 抱歉，無法讀取。請再試一次。
reask-required = 需要這一項才能繼續。
reask-yes-no = 請回答「是」或「否」。
reask-choice = 請選擇其中一個選項，或傳送它的編號。
reask-email = 這看起來不是電子郵件地址。請依 name@example.com 的格式傳送。
reask-phone = 這看起來不是電話號碼。請連同國碼傳送，例如 +886 912 345 678。
# $example is the business's example of the id.
reask-id = 這看起來不對。請依 { $example } 的格式傳送。
reask-date = 請依 2026-12-31 的格式傳送日期。
# Questionnaires: the closing text.
questionnaire-done = 謝謝！
# Questionnaires: the end after a refused consent.
questionnaire-consent-refused = 了解。沒有您的同意，我們無法繼續。
# Questionnaires: the end after a required question's attempts ran out.
questionnaire-gave-up = 抱歉，無法繼續。客服人員會接手為您服務。
# Questionnaires: how to leave out an optional question that is typed.
optional-hint = 選填：傳送「跳過」即可略過。
# Questionnaires: a pre-chat's greeting for an end user whose name is known.
prechat-greeting = { $name }，您好！
