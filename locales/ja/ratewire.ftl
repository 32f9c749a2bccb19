# ratewire's shipped texts for end users. Every locale defines exactly these messages.
# Variables: $min and $max are the lowest and highest level of the survey's scale.

# Sent as the rating invitation.
invitation = 本日のサポートはいかがでしたか？ぜひ評価をお聞かせください。
# Added where a channel can't show every level as a button.
answer-hint = { $min }から{ $max }までの数字でご返信ください。
# Label of the button that opens a list of levels (at most 20 characters).
rate-button = 評価する
thank-you = ご評価いただき、ありがとうございます！
comment-prompt = ほかにお聞かせいただけることはありますか？一言でもお気軽にご返信ください。
comment-thanks = ありがとうございます。いただいたコメントは担当チームに共有いたしました。
reason-prompt = ご期待に添えず申し訳ございません。どのような点が問題でしたか？
expiry-notice = 申し訳ございません。このアンケートは終了したため、評価を受け付けることができません。
unreadable-hint = 申し訳ございません、内容を読み取れませんでした。{ $min }から{ $max }までの数字でご返信ください。
rating-locked = ご評価は確定済みのため、変更することはできません。
reminder = 再度のご案内です。今回のサポートはいかがでしたか？評価をお聞かせください。

# Level labels for five-level scales (five stars, five faces, numbers 1 to 5).
label-5-1 = 非常に不満
label-5-2 = 不満
label-5-3 = 普通
label-5-4 = 満足
label-5-5 = 非常に満足
# The ends of other scales.
label-lowest = 非常に不満
label-highest = 非常に満足
# The ends of the 0–10 Net Promoter scale.
nps-lowest = まったく可能性がない
nps-highest = 非常に可能性が高い
nps-question = 当社を友人や同僚に勧める可能性はどのくらいありますか？

# Reasons offered after a low rating.
reason-slow = 対応が遅い
reason-unresolved = 問題が解決していない
reason-unfriendly = 対応が不親切
reason-other = その他

# The web widget's button that sends a comment.
widget-send = 送信
widget-close = 閉じる

# Email: the page a rating link opens asks this before the rating counts (link scanners open links too).
email-confirm-prompt = この評価でよろしいですか？
email-confirm = 評価を確定する
# Email: the link to the survey's page, in messages that can't show the choices.
email-open-survey = アンケートを開く
# Email: the unsubscribe link at the foot of every message, and the page it opens.
email-unsubscribe = 評価のお願いを今後受け取らない
email-unsubscribe-prompt = このアドレスへの評価のお願いを停止しますか？
email-unsubscribed = 完了しました。このアドレスに評価のお願いが届くことはもうありません。
# Email: the page of a link that is damaged or was edited.
email-link-invalid = このリンクは無効です。メールに記載されているとおりに開いてください。
# Email: the page a reason link opens asks this before the reason counts.
email-reason-prompt = うまくいかなかったのはこの点ですか？
email-reason-confirm = 確定する
# Email: a page's notice when what was sent no longer fits the survey (answered meanwhile, closed).
email-answer-not-taken = この回答は受け付けられなくなりました。現在のアンケートの状態は次のとおりです。
# Email: a page's notice when the comment box was sent empty.
email-comment-empty = 送信する前にコメントをご記入ください。
# Email: a page shown when ratewire can't answer for a moment.
email-try-again = 問題が発生しました。しばらくしてからもう一度お試しください。

# Questionnaires: the shipped text of a yes/no question whose id is `resolved`.
question-resolved = 問題は解決しましたか？
# Questionnaires: a customer-effort question (1 to 7).
question-ces = 問題の解決はどのくらい簡単でしたか？1（とても難しい）から7（とても簡単）でお答えください。
# Questionnaires: a name question.
question-name = お名前を教えてください。
question-email = メールアドレスを教えてください。
question-phone = 電話番号を国番号から教えてください。
# Questionnaires: a consent question; $url is the policy's link.
question-consent = プライバシーポリシーに同意しますか？ { $url }
# Questionnaires: the buttons of a yes/no question.
answer-yes = はい
answer-no = いいえ
# Questionnaires: asking again after a reply that could not be read.
reask-text = 読み取れませんでした。もう一度お試しください。
reask-required = 続けるにはこの項目が必要です。
reask-yes-no = 「はい」か「いいえ」でお答えください。
reask-choice = 選択肢から1つ選ぶか、その番号を送ってください。
reask-email = メールアドレスではないようです。name@example.com の形で送ってください。
reask-phone = 電話番号ではないようです。+81 90 1234 5678 のように国番号から送ってください。
# $example is the business's example of the id.
reask-id = 正しくないようです。{ $example } の形で送ってください。
reask-date = 日付は 2026-12-31 の形で送ってください。
# Questionnaires: the closing text.
questionnaire-done = ありがとうございました！
# Questionnaires: the end after a refused consent.
questionnaire-consent-refused = 承知しました。同意がないため、ここで終了します。
# Questionnaires: the end after a required question's attempts ran out.
questionnaire-gave-up = 申し訳ありません、続けられませんでした。担当者が対応します。
# Questionnaires: how to leave out an optional question that is typed.
optional-hint = 任意です。「スキップ」と送ると省略できます。
# Questionnaires: a pre-chat's greeting for an end user whose name is known.
prechat-greeting = { $name }さん、こんにちは！
