"""Every word the conversation sends, in one table.

Plain ASCII within GSM-7 ("->", not an arrow; no curly quotes, no "|" or
"~", which cost two GSM-7 septets), and short: customer replies fit one
160-character segment unless they carry tracking links or the customer's
own long text. Placeholders are filled with str.format.
"""

from __future__ import annotations

from bot.media import UNAVAILABLE

# --- customers --------------------------------------------------------------

STATUS_ONE = "{business}: Job {job_id} ({service}) is {status}. Track: {url}"
# In bot.job_choice's order: the job under way, then the nearest appointment.
STATUS_MANY_HEADER = "{business}: your open jobs, soonest first:"
STATUS_MANY_LINE = "{job_id} {service}: {status}. {url}"
STATUS_MORE = "+{count} more."
NO_OPEN_JOBS = "{business}: no open jobs for this number. Text the code from your tracking link, or {reach}."
NO_OPEN_JOBS_NO_ONE = "{business}: no open jobs for this number. Text the code from your tracking link."

CODE_OWNER = "{business}: Hi {first_name}, job {job_id} ({service}) is {status}. Track: {url}"
# Someone else's token: the status and the link (which they already have), nothing about the person.
CODE_OTHER = "{business}: That {service} job is {status}. Track: {url}"
CODE_MISS = "{business}: That code doesn't match any job. Check the link in our texts, or text STATUS."
CODE_THROTTLED = "{business}: Too many codes tried. Please wait a minute, then try again."

# HELP says what CTIA's handbook asks: who texts, how to reach a person, the rates notice, how to opt out
# (within two segments: tests/test_segments.py).
RATES = "Msg & data rates may apply. Text STOP to opt out."
HELP = (
    "{business} job texts: text STATUS for your jobs, or reply to reach a person. "
    "To cancel a job text CANCEL JOB{or_call}. " + RATES
)
OR_CALL = " or call {phone}"
# With no dispatcher nobody reads a reply: a person is reached by phone, or not promised at all.
HELP_NO_DISPATCHER = (
    "{business} job texts: text STATUS for your jobs. To reach a person or cancel a job call {phone}. " + RATES
)
HELP_NO_ONE = "{business} job texts: text STATUS for your jobs, or the code from your tracking link. " + RATES

ACK = "{business}: Thanks, we got your message. A person will reply soon.{urgent}"
ACK_CANCEL = "{business}: Thanks, we got your cancel request. A person will confirm soon.{urgent}"
URGENT = " Urgent? Call {phone}."
# With no dispatcher configured nobody reads the relay: point to the phone, or promise nothing.
ACK_NO_DISPATCHER = "{business}: Thanks, we got your message. For a quick answer call {phone}."
ACK_CANCEL_NO_DISPATCHER = "{business}: Thanks, we got your message. To cancel a job call {phone}."
ACK_NO_ONE = "{business}: Thanks, we got your message. Text STATUS for your jobs."

# The one text an opted-out phone gets: the confirmation of a stop phrase Twilio did not block (GSM-7).
OPTED_OUT_BY_PHRASE = "You won't get more texts from {business}. Reply START to resume."
# A C (or YES, Y, CONFIRM, a thumbs up) within 48 hours after a reminder (bot/conversation/confirm.py).
CONFIRMED = "{business}: Thanks, you're confirmed for {when}."
CONFIRM_CHANGED = "{business}: Your appointment changed to {when}. Reply C to confirm."
NOTHING_TO_CONFIRM = "{business}: Job {job_id} ({service}) is {status}, so there is nothing to confirm. Track: {url}"
RESCHEDULE_ACK = "{business}: Thanks, we got your request to reschedule. A person will reply soon.{urgent}"
RESCHEDULE_ACK_NO_DISPATCHER = "{business}: Thanks, we got your message. To reschedule call {phone}."

OPTED_IN = "{business}: You're opted back in to job texts. Text HELP for help, STOP to opt out."

REACH_BY_PHONE = "call {phone}"
REACH_BY_REPLY = "reply here and a person will answer"

# --- what dispatchers read about customers ------------------------------------

WHO_WITH_JOB = "{first_name} ({job_id}, {status})"
WHO_WITHOUT_JOB = "{phone} (no open job)"
RELAY = "{who}: {text} Reply: R {target} <text>"
RELAY_CANCEL = "{who} may want to cancel: {text} Reply: R {target} <text> or CANCEL {job_id}"
# GSM-7 has no basic "[": the mark is words ("Reschedule request from Dana (1042, Sat Dec 5, 9:00 AM): ...").
RELAY_RESCHEDULE = "Reschedule request from {who}: {text} Reply: R {job_id} <text>"
WHO_RESCHEDULING = "{first_name} ({job_id}, {when})"
RELAY_OPTED_OUT = "{who} is opted out of texts; call {phone}. They wrote: {text}"
RELAY_OPT_OUT_PHRASE = "{who} opted out by text: '{text}'. To reach them call {phone}."
RELAY_OPT_OUT = "{who} texted {keyword} and is now opted out of texts. To reach them call {phone}."
# Pictures in a relay: their private links after the words (never an emoji: it would make the
# whole text UCS-2). A picture that will never be fetched is only counted.
PHOTO = "Photo: {links}"
PHOTOS = "Photos: {links}"
PICTURE_UNAVAILABLE = UNAVAILABLE  # "(picture unavailable)": what the sender puts for a link it could not keep too
PICTURES_UNAVAILABLE = "({count} pictures unavailable)"

# --- dispatchers --------------------------------------------------------------

# Within one segment with "Didn't understand. " before it.
COMMAND_LIST = (
    "EN ROUTE 1042 20, ARRIVED 1042, DONE 1042 350, CANCEL 1042, JOBS, TODAY, TOMORROW, 1042, "
    "R 1042 <text>, R <phone> <text>."
)
DISPATCHER_HELP = "Commands: " + COMMAND_LIST
NOT_UNDERSTOOD = "Didn't understand. Commands: " + COMMAND_LIST

STATUS_CHANGED = "{job_id} -> {status}{detail}. {texted}"
ETA_DETAIL = " (ETA {eta} min)"
TOTAL_DETAIL = " ({total})"
CUSTOMER_TEXTED = "Customer texted."
CUSTOMER_OPTED_OUT = "Customer has opted out; not texted."
UNCHANGED = "{job_id} is already {status}{detail}; nothing sent."
NO_JOB = "No job {job_id}."

SENT_TO_JOB = "Sent to {first_name} ({job_id})."
SENT_TO_PHONE = "Sent to {phone}."
# A dispatcher's pictures went with the text to the customer (an MMS): said after "Customer texted" / "Sent to".
WITH_PHOTO = ", with the photo."
WITH_PHOTOS = ", with {count} photos."
# A picture from a dispatcher with no command it can go with.
PHOTO_WITHOUT_COMMAND = "Got the photo. To send it to the customer, text it with ARRIVED 1042, DONE 1042 or R 1042."

NO_OPEN_JOBS_DISPATCHER = "No open jobs."
JOBS_HEADER = "Open jobs ({count}):"
JOBS_LINE = "{job_id} {status} - {name}, {service}"
JOBS_MORE = "+{count} more."
JOB_DETAIL = "{job_id} {name}, {service}: {status}{booked}{total}."
BOOKED_FOR = " (booked for {when})"  # a job under way still says when it was booked for

# TODAY / TOMORROW: that day's open jobs in order of appointment; a job booked for the day with no time last.
DAY_HEADER = "Open jobs {day}, {date} ({count}):"
NO_JOBS_ON_DAY = "No open jobs {day} ({date})."
DAY_LINE = "{time} {job_id}{status} - {name}, {service}"
NO_TIME = "no time"
JOB_CONTACT = "{phone}{address}"

# Errors for commands recognised but not usable; `example` is from EXAMPLES.
EXAMPLES = {
    "en_route": "EN ROUTE 1042 20",
    "arrived": "ARRIVED 1042",
    "complete": "DONE 1042 350",
    "cancelled": "CANCEL 1042",
    "_status": "STATUS 1042",
}
WHICH_JOB = "Which job? e.g. {example}"
ONLY_JOB = "Didn't understand the extra number. e.g. {example}"
ONE_JOB_AT_A_TIME = "One job and one number at a time, e.g. {example}"
ONE_COMMAND = "One command at a time. Text HELP for the list."
NOT_UNDERSTOOD_WORD = 'Didn\'t understand "{word}". e.g. {example}'
BAD_ETA = "ETA must be whole minutes, 0 to {max}. e.g. {example}"
BAD_TOTAL = "Total must be a dollar amount up to ${max:,}. e.g. {example}"
REPLY_TARGET = "Reply to which job or phone? e.g. R 1042 Running 10 min late"
REPLY_TEXT = "What should it say? e.g. R 1042 Running 10 min late"
