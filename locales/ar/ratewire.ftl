# ratewire's shipped texts for end users. Every locale defines exactly these messages.
# Variables: $min and $max are the lowest and highest level of the survey's scale.

# Sent as the rating invitation.
invitation = ما تقييمك للمساعدة التي حصلت عليها اليوم؟
# Added where a channel can't show every level as a button.
answer-hint = يُرجى الرد برقم من { $min } إلى { $max }.
# Label of the button that opens a list of levels (at most 20 characters).
rate-button = تقييم
thank-you = شكرًا لك على تقييمك!
comment-prompt = هل تود إخبارنا بالمزيد؟ يكفي أن ترد ببضع كلمات.
comment-thanks = شكرًا لك، لقد أحلنا تعليقك إلى الفريق المختص.
reason-prompt = يؤسفنا سماع ذلك. ما الذي حدث؟
expiry-notice = عذرًا، تم إغلاق هذا الاستبيان ولم يعد من الممكن إرسال تقييم.
unreadable-hint = عذرًا، لم أفهم ردك. يُرجى الرد برقم من { $min } إلى { $max }.
rating-locked = تقييمك نهائي ولم يعد من الممكن تغييره.
reminder = تذكير سريع: ما تقييمك للمساعدة التي حصلت عليها؟

# Level labels for five-level scales (five stars, five faces, numbers 1 to 5).
label-5-1 = غير راضٍ جدًا
label-5-2 = غير راضٍ
label-5-3 = محايد
label-5-4 = راضٍ
label-5-5 = راضٍ جدًا
# The ends of other scales.
label-lowest = غير راضٍ جدًا
label-highest = راضٍ جدًا
# The ends of the 0–10 Net Promoter scale.
nps-lowest = غير محتمل على الإطلاق
nps-highest = محتمل للغاية
nps-question = ما مدى احتمال أن توصي بنا لصديق أو زميل؟

# Reasons offered after a low rating.
reason-slow = بطء الاستجابة
reason-unresolved = لم تُحل المشكلة
reason-unfriendly = تعامل غير ودود
reason-other = سبب آخر

# The web widget's button that sends a comment.
widget-send = إرسال
widget-close = إغلاق

# Email: the page a rating link opens asks this before the rating counts (link scanners open links too).
email-confirm-prompt = هل هذا تقييمك؟
email-confirm = تأكيد تقييمي
# Email: the link to the survey's page, in messages that can't show the choices.
email-open-survey = فتح الاستبيان
# Email: the unsubscribe link at the foot of every message, and the page it opens.
email-unsubscribe = إيقاف طلبات التقييم
email-unsubscribe-prompt = هل تريد إيقاف تلقي طلبات التقييم على هذا العنوان؟
email-unsubscribed = تم: لن تتلقى بعد الآن طلبات تقييم على هذا العنوان.
# Email: the page of a link that is damaged or was edited.
email-link-invalid = هذا الرابط غير صالح. يُرجى فتحه كما ورد في الرسالة تمامًا.
# Email: the page a reason link opens asks this before the reason counts.
email-reason-prompt = هل هذا ما لم يكن جيدًا؟
email-reason-confirm = تأكيد
# Email: a page's notice when what was sent no longer fits the survey (answered meanwhile, closed).
email-answer-not-taken = لم يعد بالإمكان قبول هذه الإجابة. هذا هو الاستبيان كما هو الآن.
# Email: a page's notice when the comment box was sent empty.
email-comment-empty = يُرجى كتابة تعليقك قبل إرساله.
# Email: a page shown when ratewire can't answer for a moment.
email-try-again = حدث خطأ من جانبنا. يُرجى المحاولة مرة أخرى بعد قليل.
