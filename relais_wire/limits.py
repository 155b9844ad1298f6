"""Size limits shared by the kiosk (which enforces them before sending) and the relay
(which refuses anything beyond them). One number, one place."""

MAX_PAYLOAD_BYTES = 512 * 1024  # one uplink envelope, photo included (base64)
# One downlink. The broker's packet limit (broker_config.render.MAX_PACKET_SIZE) is this
# plus room for the topic and properties: a bigger one would make the broker drop the
# connection that sent it, the relay's, and paho would send it again on every reconnect.
MAX_DOWNLINK_BYTES = 2 * MAX_PAYLOAD_BYTES - 16 * 1024
PACKET_HEADROOM_BYTES = 16 * 1024
SYNC_HISTORY_BYTES = 384 * 1024  # the history inside a badge-in sync; older pages via the API
MAX_TEXT_CHARS = 1000
# A name searched from the kiosk (the kiosk API's /contacts), folded (case and accents off):
# fewer letters would name half the company, more are no name.
MIN_FIND_CHARS = 2
MAX_FIND_CHARS = 60
MAX_CAPTION_CHARS = 200
MAX_ALERT_CHARS = 200  # a safety alert's few words beside its pictogram
MAX_BADGE_CHARS = 64
PIN_MIN_DIGITS = 4
PIN_MAX_DIGITS = 8
MAX_REASON_CHARS = 300
MAX_NOTICE_TITLE_CHARS = 120  # a notice, from the console or a team lead's terminal
MAX_NOTICE_BODY_CHARS = 4000
MAX_LEAD_NOTICES_PER_HOUR = 20  # a team lead's notices from terminals (the console's: no bound)
REMIND_EVERY_MIN = (5, 1440)  # minutes between a notice's reminders while badged in
MAX_CHARTER_SECTION_CHARS = 1500  # one section of the messaging charter, in one language

MAX_PHOTO_BYTES = 250 * 1024  # a normalised JPEG
MAX_PHOTO_SIDE = 1280  # pixels, long side

MAX_VOICE_SECONDS = 60  # one voice message
VOICE_BITRATE = 16_000  # bits a second: Opus, mono; a minute is about 120 KB
VOICE_RATE = 16_000  # samples a second (Opus "wideband": speech, small)
# What a terminal may send: a minute at the bitrate, with room for Ogg's pages and an encoder
# that overshoots; base64 of it fits MAX_PAYLOAD_BYTES.
MAX_VOICE_BYTES = 200 * 1024

DRAWING_MAX_SIDE = 2000  # canvas units
DRAWING_MAX_STROKES = 300
DRAWING_MAX_POINTS = 6000  # all strokes together
DRAWING_MIN_WIDTH = 1
DRAWING_MAX_WIDTH = 40
