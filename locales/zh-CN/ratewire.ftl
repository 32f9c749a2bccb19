# ratewire's shipped texts for end users. Every locale defines exactly these messages.
# Variables: $min and $max are the lowest and highest level of the survey's scale.

# Sent as the rating invitation.
invitation = 请问您如何评价今天获得的帮助？
# Added where a channel can't show every level as a button.
answer-hint = 请回复 { $min } 到 { $max } 之间的数字。
# Label of the button that opens a list of levels (at most 20 characters).
rate-button = 评分
thank-you = 感谢您的评分！
comment-prompt = 还有什么想告诉我们的吗？直接回复几句话就可以。
comment-thanks = 谢谢，我们已将您的意见转达给团队。
reason-prompt = 很抱歉给您带来不好的体验。请问是哪里出了问题？
expiry-notice = 抱歉，本次调查已结束，无法再提交评分。
unreadable-hint = 抱歉，我没能理解您的回复。请回复 { $min } 到 { $max } 之间的数字。
rating-locked = 您的评分已提交，无法再修改。
reminder = 温馨提醒：请问您如何评价我们提供的帮助？

# Level labels for five-level scales (five stars, five faces, numbers 1 to 5).
label-5-1 = 非常不满意
label-5-2 = 不满意
label-5-3 = 一般
label-5-4 = 满意
label-5-5 = 非常满意
# The ends of other scales.
label-lowest = 非常不满意
label-highest = 非常满意
# The ends of the 0–10 Net Promoter scale.
nps-lowest = 完全不可能
nps-highest = 极有可能
nps-question = 您有多大可能向朋友或同事推荐我们？

# Reasons offered after a low rating.
reason-slow = 回复太慢
reason-unresolved = 问题未解决
reason-unfriendly = 服务态度不好
reason-other = 其他原因

# The web widget's button that sends a comment.
widget-send = 发送
widget-close = 关闭

# Email: the page a rating link opens asks this before the rating counts (link scanners open links too).
email-confirm-prompt = 这是您的评分吗？
email-confirm = 确认我的评分
# Email: the link to the survey's page, in messages that can't show the choices.
email-open-survey = 打开调查
# Email: the unsubscribe link at the foot of every message, and the page it opens.
email-unsubscribe = 不再接收评分邀请
email-unsubscribe-prompt = 不再向此地址发送评分邀请？
email-unsubscribed = 已完成：此地址将不会再收到评分邀请。
# Email: the page of a link that is damaged or was edited.
email-link-invalid = 此链接无效。请按邮件中显示的原样打开链接。
# Email: the page a reason link opens asks this before the reason counts.
email-reason-prompt = 是这方面出了问题吗？
email-reason-confirm = 确认
# Email: a page's notice when what was sent no longer fits the survey (answered meanwhile, closed).
email-answer-not-taken = 此回答已无法提交。以下是问卷的当前状态。
# Email: a page's notice when the comment box was sent empty.
email-comment-empty = 请先填写您的意见再发送。
# Email: a page shown when ratewire can't answer for a moment.
email-try-again = 我们这边出了点问题，请稍后再试。

# Questionnaires: the shipped text of a yes/no question whose id is `resolved`.
question-resolved = 您的问题解决了吗？
# Questionnaires: a customer-effort question (1 to 7).
question-ces = 解决您的问题有多容易？请回复 1（非常困难）到 7（非常容易）。
# Questionnaires: a name question.
question-name = 请问您怎么称呼？
question-email = 请问您的电子邮箱是？
question-phone = 请问您的电话号码是？请包含国家代码。
# Questionnaires: a consent question; $url is the policy's link.
question-consent = 您同意我们的隐私政策吗？{ $url }
# Questionnaires: the buttons of a yes/no question.
answer-yes = 是
answer-no = 否
# Questionnaires: asking again after a reply that could not be read.
reask-text = 抱歉，没能读懂。请再试一次。
reask-required = 需要这一项才能继续。
reask-yes-no = 请回答“是”或“否”。
reask-choice = 请选择其中一个选项，或发送它的编号。
reask-email = 这看起来不是电子邮箱。请按 name@example.com 的格式发送。
reask-phone = 这看起来不是电话号码。请带国家代码发送，例如 +86 138 0013 8000。
# $example is the business's example of the id.
reask-id = 这看起来不对。请按 { $example } 的格式发送。
reask-date = 请按 2026-12-31 的格式发送日期。
# Questionnaires: the closing text.
questionnaire-done = 谢谢！
# Questionnaires: the end after a refused consent.
questionnaire-consent-refused = 明白了。没有您的同意，我们无法继续。
# Questionnaires: the end after a required question's attempts ran out.
questionnaire-gave-up = 抱歉，无法继续。客服人员会接手为您服务。
# Questionnaires: how to leave out an optional question that is typed.
optional-hint = 选填：发送“跳过”即可略过。
# Questionnaires: a pre-chat's greeting for an end user whose name is known.
prechat-greeting = { $name }，您好！
