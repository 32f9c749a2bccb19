# ratewire's shipped texts for end users. Every locale defines exactly these messages.
# Variables: $min and $max are the lowest and highest level of the survey's scale.

# Sent as the rating invitation.
invitation = Bagaimana penilaian Anda terhadap bantuan yang Anda terima hari ini?
# Added where a channel can't show every level as a button.
answer-hint = Silakan balas dengan angka { $min } sampai { $max }.
# Label of the button that opens a list of levels (at most 20 characters).
rate-button = Beri Nilai
thank-you = Terima kasih atas penilaian Anda!
comment-prompt = Ingin bercerita lebih lanjut? Cukup balas dengan beberapa kata.
comment-thanks = Terima kasih, masukan Anda sudah kami teruskan ke tim.
reason-prompt = Mohon maaf atas pengalaman yang kurang menyenangkan. Apa yang menjadi kendala?
expiry-notice = Mohon maaf, survei ini sudah ditutup dan tidak dapat menerima penilaian lagi.
unreadable-hint = Maaf, kami tidak memahami balasan Anda. Silakan balas dengan angka { $min } sampai { $max }.
rating-locked = Penilaian Anda sudah final dan tidak dapat diubah lagi.
reminder = Sekadar mengingatkan: bagaimana penilaian Anda terhadap bantuan yang Anda terima?

# Level labels for five-level scales (five stars, five faces, numbers 1 to 5).
label-5-1 = Sangat tidak puas
label-5-2 = Tidak puas
label-5-3 = Netral
label-5-4 = Puas
label-5-5 = Sangat puas
# The ends of other scales.
label-lowest = Sangat tidak puas
label-highest = Sangat puas
# The ends of the 0–10 Net Promoter scale.
nps-lowest = Sangat tidak mungkin
nps-highest = Sangat mungkin
nps-question = Seberapa besar kemungkinan Anda merekomendasikan kami kepada teman atau rekan kerja?

# Reasons offered after a low rating.
reason-slow = Respons lambat
reason-unresolved = Masalah tidak terselesaikan
reason-unfriendly = Layanan kurang ramah
reason-other = Lainnya

# The web widget's button that sends a comment.
widget-send = Kirim
widget-close = Tutup

# Email: the page a rating link opens asks this before the rating counts (link scanners open links too).
email-confirm-prompt = Apakah ini penilaian Anda?
email-confirm = Konfirmasi penilaian saya
# Email: the link to the survey's page, in messages that can't show the choices.
email-open-survey = Buka survei
# Email: the unsubscribe link at the foot of every message, and the page it opens.
email-unsubscribe = Berhenti menerima permintaan penilaian
email-unsubscribe-prompt = Berhenti menerima permintaan penilaian di alamat ini?
email-unsubscribed = Selesai: Anda tidak akan menerima permintaan penilaian lagi di alamat ini.
# Email: the page of a link that is damaged or was edited.
email-link-invalid = Tautan ini tidak valid. Silakan buka persis seperti yang tertera di email.
# Email: the page a reason link opens asks this before the reason counts.
email-reason-prompt = Apakah ini yang kurang baik?
email-reason-confirm = Konfirmasi
# Email: a page's notice when what was sent no longer fits the survey (answered meanwhile, closed).
email-answer-not-taken = Jawaban ini tidak dapat diterima lagi. Berikut survei dalam keadaannya sekarang.
# Email: a page's notice when the comment box was sent empty.
email-comment-empty = Tulis komentar Anda sebelum mengirimnya.
# Email: a page shown when ratewire can't answer for a moment.
email-try-again = Terjadi kesalahan di pihak kami. Silakan coba lagi sebentar lagi.

# Questionnaires: the shipped text of a yes/no question whose id is `resolved`.
question-resolved = Apakah masalah Anda sudah terselesaikan?
# Questionnaires: a customer-effort question (1 to 7).
question-ces = Seberapa mudah masalah Anda diselesaikan? Balas dari 1 (sangat sulit) sampai 7 (sangat mudah).
# Questionnaires: a name question.
question-name = Siapa nama Anda?
question-email = Apa alamat email Anda?
question-phone = Berapa nomor telepon Anda? Sertakan kode negara.
# Questionnaires: a consent question; $url is the policy's link.
question-consent = Apakah Anda menyetujui kebijakan privasi kami? { $url }
# Questionnaires: the buttons of a yes/no question.
answer-yes = Ya
answer-no = Tidak
# Questionnaires: asking again after a reply that could not be read.
reask-text = Maaf, saya tidak bisa membacanya. Silakan coba lagi.
reask-required = Kami memerlukan ini untuk melanjutkan.
reask-yes-no = Silakan jawab ya atau tidak.
reask-choice = Pilih salah satu opsi atau kirim nomornya.
reask-email = Itu sepertinya bukan alamat email. Kirim seperti ini: nama@contoh.com.
reask-phone = Itu sepertinya bukan nomor telepon. Kirim dengan kode negara, seperti +62 812 3456 7890.
# $example is the business's example of the id.
reask-id = Sepertinya kurang tepat. Kirim seperti ini: { $example }.
reask-date = Kirim tanggal seperti ini: 2026-12-31.
# Questionnaires: the closing text.
questionnaire-done = Terima kasih!
# Questionnaires: the end after a refused consent.
questionnaire-consent-refused = Baik. Kami tidak dapat melanjutkan tanpa persetujuan Anda.
# Questionnaires: the end after a required question's attempts ran out.
questionnaire-gave-up = Maaf, kami tidak dapat melanjutkan. Agen akan membantu dari sini.
# Questionnaires: how to leave out an optional question that is typed.
optional-hint = Opsional: kirim “lewati” untuk melewatinya.
# Questionnaires: a pre-chat's greeting for an end user whose name is known.
prechat-greeting = Halo, { $name }!
