"""What each audit action means, in the reader's language. The log itself keeps the stable
code (exports, filters and ``relais audit verify`` use it); the page shows both."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

ACTIONS = {
    "login.success": _l("Signed in"),
    "login.failure": _l("Failed sign-in"),
    "login.locked": _l("Account locked after failed sign-ins"),
    "login.refused_locked": _l("Sign-in refused: account locked"),
    "login.throttled": _l("Sign-in refused unchecked: too many attempts, a wait was running"),
    "logout": _l("Signed out"),
    "badge.unknown": _l("Unknown badge at a terminal"),
    "badge.locked": _l("Badge locked after wrong PINs"),
    "badge.wrong_pin": _l("Wrong PIN at a terminal"),
    "message.approve": _l("Message approved"),
    "message.reject": _l("Message rejected"),
    "message.retract": _l("Message retracted"),
    "message.review": _l("Message marked reviewed"),
    "notice.create": _l("Notice sent"),
    "notice.remind": _l("Notice reminder sent"),
    "notice.withdraw": _l("Notice withdrawn"),
    "employee.create": _l("Employee added"),
    "employee.update": _l("Employee changed"),
    "employee.deactivate": _l("Employee deactivated"),
    "employee.reactivate": _l("Employee reactivated"),
    "employee.badge_assign": _l("Badge assigned"),
    "employee.badge_remove": _l("Badge removed"),
    "employee.pin_set": _l("PIN set"),
    "employee.pin_reset": _l("PIN reset"),
    "employee.pin_remove": _l("PIN removed"),
    "employee.import": _l("Employees imported (CSV)"),
    "employee.export": _l("Employees exported (CSV)"),
    "site.create": _l("Site added"),
    "site.rename": _l("Site renamed"),
    "team.create": _l("Team added"),
    "team.update": _l("Team changed"),
    "shift.create": _l("Shift added"),
    "shift.update": _l("Shift changed"),
    "shift.delete": _l("Shift removed"),
    "contact_rule.create": _l("Contact rule added"),
    "contact_rule.delete": _l("Contact rule removed"),
    "contact_rule.reply": _l("Contact rule: replies changed"),
    "group.create": _l("Workgroup added"),
    "group.update": _l("Workgroup changed"),
    "group.archive": _l("Workgroup archived"),
    "group.reopen": _l("Workgroup reopened"),
    "group.delete": _l("Workgroup deleted"),
    "terminal.create": _l("Terminal added"),
    "terminal.enrol": _l("Terminal enrolled"),
    "terminal.enrol_refused": _l("Terminal enrolment refused"),
    "terminal.rename": _l("Terminal renamed"),
    "terminal.site": _l("Terminal moved to another site"),
    "terminal.rotate": _l("Terminal credentials renewed"),
    "terminal.revoke": _l("Terminal revoked"),
    "terminal.logins_suspended": _l("Terminal suspended for badge-ins (guessing)"),
    "terminal.logins_resumed": _l("Terminal takes badge-ins again"),
    "console_user.create": _l("Console user added"),
    "settings.change": _l("Setting changed"),
    "retention.purge": _l("Old messages purged"),
    "audit.chain_opened": _l("A terminal's audit chain began"),
    "audit.chains_sealed": _l("Terminals' audit chains sealed where they had come to"),
    "audit.head_rebuilt": _l("An audit chain's head was missing and was rebuilt from its last "
                             "entry"),
    "audit.export": _l("Audit log exported (CSV)"),
    "data.generate": _l("Benchmark data generated"),
    "person.export": _l("Access request: a person's data exported"),
    "legal_hold.place": _l("Legal hold placed"),
    "legal_hold.release": _l("Legal hold released"),
    "charter.published": _l("Messaging charter published"),
    "charter.accepted": _l("Messaging charter accepted at a terminal"),
}


def action_label(code: str) -> str:
    label = ACTIONS.get(code)
    return str(label) if label is not None else code


DETAILS = {
    "name": _l("name"), "title": _l("title"), "to": _l("addressed to"), "urgent": _l("urgent"),
    "ack_required": _l("confirmation asked"), "photo": _l("photo"), "scheduled": _l("scheduled"),
    "valid_from": _l("shown from"), "valid_until": _l("shown until"), "role": _l("role"),
    "username": _l("username"), "reason": _l("reason"), "count": _l("people"), "ip": _l("IP"),
    "minutes": _l("minutes"), "old": _l("before"), "new": _l("after"), "changes": _l("changes"),
    "team": _l("team"), "rows": _l("rows"), "file": _l("file"), "sender": _l("writer"),
    "recipient": _l("recipient"), "allow_reply": _l("reply allowed"),
    "retention_days": _l("retention (days)"),
    "people": _l("people"), "counts": _l("rows"), "held": _l("kept by a legal hold"),
    "placed_by": _l("placed by"),
    "remind_every_min": _l("reminded every (minutes)"), "author_employee": _l("written by"),
    "on_shift_only": _l("only during the sender's shift"), "terminal": _l("terminal"),
    "employee": _l("employee"), "next_start": _l("next shift"), "off_shift": _l("off shift"),
    "version": _l("version"), "replaces": _l("replaces version"), "uplink": _l("terminal request"),
    "photo_dropped": _l("photo dropped (nobody badged in)"),
    "session_ended_of": _l("sent after the end of the session of"),
    "alert_photos": _l("safety alert photos erased"),
    "sessions": _l("badge sessions erased"),
}


def detail_label(key: str) -> str:
    label = DETAILS.get(key)
    return str(label) if label is not None else key
