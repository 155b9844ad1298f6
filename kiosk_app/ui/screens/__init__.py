"""One module and one .kv file per screen; ``SCREENS`` lists them for the app."""

from __future__ import annotations

from pathlib import Path

KV_DIR = Path(__file__).parent

# (name, module, class): the order is the order the .kv files are loaded in.
SCREENS = [
    ("idle", "idle", "IdleScreen"),
    ("pin", "pin", "PinScreen"),
    ("locked", "locked", "LockedScreen"),
    ("urgent", "urgent", "UrgentScreen"),
    ("charter", "charter", "CharterScreen"),  # the messaging charter (issue 17)
    ("offshift", "offshift", "OffShiftScreen"),
    ("home", "home", "HomeScreen"),
    ("contacts", "contacts", "ContactsScreen"),
    ("find", "find", "FindScreen"),  # by name, when the sync had to cut the contact list
    ("conversation", "conversation", "ConversationScreen"),
    ("compose", "compose", "ComposeScreen"),
    ("photos", "photos", "PhotosScreen"),
    ("viewer", "viewer", "ViewerScreen"),
    ("drawing", "drawing", "DrawingScreen"),
    ("voice", "voice", "VoiceScreen"),  # a voice message (issue 19)
    ("notices", "notices", "NoticesScreen"),
    ("notice", "notice", "NoticeScreen"),
    ("alert", "alert", "AlertScreen"),
    ("broadcast", "broadcast", "BroadcastScreen"),  # a team lead's notice (issue 16)
    ("my_notices", "my_notices", "MyNoticesScreen"),
    ("handling", "handling", "HandlingScreen"),  # "How my messages are handled"
]
