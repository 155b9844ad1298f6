"""Safety alerts: raised at a terminal, sent at once to the people who must act.

Abuse is HR's business, not the terminal's (issue 16): an alert skips moderation and the
contact rules, has no limit of its own, and is audited with the terminal and the person so
that HR can follow up afterwards. It reaches its recipients as an urgent ``notice``
downlink, which the kiosk already shows full screen with a sound, carrying an ``alert``
field (pictogram, who, where) for the kiosk to draw.

Who receives it: the supervisors of the teams of the alert's site (the terminal's site, else
the person's team's site; every supervisor when neither is known), and the people the
setting ``safety_alert_recipients`` names (employee ids: the HSE officer, the nurse...). When
that setting names nobody, the HR desk receives it instead. The person who raised it is not
sent their own alert.

An alert may carry one photo of the danger (issue 16). The terminal is not trusted: the
photo is decoded and re-encoded here exactly as every other photo (``services.photos``:
pixels only, no metadata, at most 1280 px and 250 KB) and kept as ``Media``; a photo that
is not one refuses the whole alert before anything is stored, so the kiosk shows the
refusal rather than an alert half-stored. Its recipients are kept on the alert
(``recipient_ids``): they alone fetch its photo over the kiosk API (the notice photo
route), and the console's safety area shows it to the roles that see alerts.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hr_console.services import audit, downlinks, photo_time, photos, settings
from hr_console.services.errors import NotFound, ServiceError
from hr_console.store.models import (
    ConsoleUser,
    Employee,
    Media,
    SafetyAlert,
    Site,
    Team,
    Terminal,
    utcnow,
)
from relais_wire.envelope import ALERT_PICTOGRAMS

RECIPIENTS_SETTING = "safety_alert_recipients"
ON_IDLE_SETTING = "safety_alert_on_idle"
_UID = re.compile(r"[0-9a-fA-F-]{36}")  # anything else (a NUL byte, a path) names no alert

# What a recipient's kiosk shows when it cannot draw the alert itself, in their language.
_TITLES = {
    "fr": {"fall": "chute", "fire": "incendie", "injury": "blessure", "machine": "machine",
           "chemical": "produit chimique", "other": "danger"},
    "en": {"fall": "fall", "fire": "fire", "injury": "injury", "machine": "machine",
           "chemical": "chemical", "other": "danger"},
}
_PREFIX = {"fr": "Alerte sécurité : ", "en": "Safety alert: "}
_FROM = {"fr": "Borne {terminal}", "en": "Terminal {terminal}"}


def title(pictogram: str, language: str) -> str:
    lang = language if language in _TITLES else "fr"
    return _PREFIX[lang] + _TITLES[lang].get(pictogram, _TITLES[lang]["other"])


def site_of(session: Session, terminal: Terminal, employee_id: int | None) -> int | None:
    if terminal.site_id is not None:
        return terminal.site_id
    if employee_id is None:
        return None
    return session.execute(select(Team.site_id).join(Employee, Employee.team_id == Team.id)
                           .where(Employee.id == employee_id)).scalar_one_or_none()


def named_recipients(session: Session) -> list[int]:
    """The employee ids the setting names (anything else in it is ignored)."""
    value = settings.get(session, RECIPIENTS_SETTING) or []
    if not isinstance(value, list):
        return []
    return [v for v in value if isinstance(v, int) and not isinstance(v, bool)]


def recipients(session: Session, site_id: int | None, *, exclude: int | None = None) -> list[int]:
    """Active supervisors of the site's teams, plus the people the setting names (the HR
    desk when it names nobody), without ``exclude`` (whoever raised it)."""
    sup = select(Team.supervisor_id).where(Team.supervisor_id.is_not(None))
    if site_id is not None:
        sup = sup.where(Team.site_id == site_id)
    ids = set(session.execute(sup).scalars())
    named = named_recipients(session)
    if named:
        ids.update(named)
    else:
        ids.update(session.execute(select(Employee.id).where(Employee.is_hr_desk.is_(True)))
                   .scalars())
    ids.discard(exclude)  # type: ignore[arg-type]
    if not ids:
        return []
    return list(session.execute(select(Employee.id).where(
        Employee.id.in_(sorted(ids)), Employee.active.is_(True)).order_by(Employee.id)).scalars())


@dataclass(frozen=True)
class Raised:
    alert: SafetyAlert
    new: bool  # False: a resend of an alert already stored (nothing sent again)


def raise_alert(session: Session, terminal: Terminal, client_id: str, pictogram: str,
                text: str = "", employee_id: int | None = None, *,
                claimed: int | None = None, image: bytes | None = None,
                photo_dropped: bool = False,
                may_store: Callable[[], bool] | None = None) -> Raised:
    """Store, audit and send one alert. ``employee_id`` None: raised from the idle screen
    (the caller checked the setting allows it), or from a session that has ended since, whose
    person is ``claimed`` (audited, not believed). The wire contract has already checked the
    pictogram and the text; they are checked again for callers other than the relay.
    ``image``: the optional photo, normalised first (``Invalid`` before anything is stored);
    a resend finds the alert stored and stores no second photo. ``photo_dropped``: the
    caller refused the photo the uplink carried (audited, the alert goes without it).
    ``may_store``: asked once the alert is known to be new (a resend is answered as before);
    False refuses it ``rate_limited`` (the relay's budgets of alerts: the terminal's in
    nobody's name, the person's badged in there)."""
    if pictogram not in ALERT_PICTOGRAMS:
        raise ServiceError("bad_pictogram", "Unknown pictogram.")
    found = session.execute(select(SafetyAlert).where(
        SafetyAlert.terminal_id == terminal.id, SafetyAlert.client_id == client_id)
    ).scalar_one_or_none()
    if found is not None:
        return Raised(found, False)
    if may_store is not None and not may_store():
        raise ServiceError("rate_limited", "Too many alerts: they will be sent again.")
    media_id = None
    if image:
        try:  # the terminal's budget of the worker's time for photos (``photo_time``)
            side = "live" if employee_id is not None else "late"
            media_id = photo_time.timed(photo_time.key(session, terminal.id, side),
                                        lambda: photos.store(session, image)).id
        except ServiceError as err:
            if err.code != "rate_limited":
                raise  # not a photo: the alert is refused, as before
            photo_dropped = True  # past it, the alert goes at once without its picture
    site_id = site_of(session, terminal, employee_id)
    to = recipients(session, site_id, exclude=employee_id)
    alert = SafetyAlert(uid=str(uuid.uuid4()), terminal_id=terminal.id, client_id=client_id,
                        employee_id=employee_id, site_id=site_id, pictogram=pictogram,
                        text=text[:200], recipients=len(to), raised_at=utcnow(),
                        media_id=media_id, recipient_ids=to)
    session.add(alert)
    session.flush()
    actor = f"employee:{employee_id}" if employee_id is not None else f"terminal:{terminal.name}"
    audit.record(session, actor, "safety.alert", f"safety_alert:{alert.id}",
                 chain=audit.terminal_chain(terminal.id),
                 terminal=terminal.name, employee=employee_id, site=site_id,
                 pictogram=pictogram, text=alert.text, recipients=to,
                 photo=media_id is not None,
                 **({"photo_dropped": True} if photo_dropped else {}),
                 **({"session_ended_of": claimed} if claimed is not None else {}))
    _send(session, alert, terminal, to)
    return Raised(alert, True)


def _send(session: Session, alert: SafetyAlert, terminal: Terminal, to: list[int]) -> None:
    """One urgent notice per recipient, titled in their language, in one INSERT per language."""
    if not to:
        return
    who = session.get(Employee, alert.employee_id) if alert.employee_id else None
    by_lang: dict[str, list[int]] = defaultdict(list)
    for eid, lang in session.execute(select(Employee.id, Employee.language)
                                     .where(Employee.id.in_(to))).tuples():
        by_lang[lang if lang in _TITLES else "fr"].append(eid)
    info = {"id": alert.id, "pictogram": alert.pictogram, "terminal": terminal.name,
            "from": who.name if who else None, "raised_at": alert.raised_at.isoformat()}
    for lang, ids in by_lang.items():
        body = alert.text or _FROM[lang].format(terminal=terminal.name)
        if alert.text:
            body = f"{alert.text}\n{_FROM[lang].format(terminal=terminal.name)}"
        if who is not None:
            body = f"{body} · {who.name}"
        downlinks.queue_many(session, "notice", ids, {
            "notice": alert.uid, "title": title(alert.pictogram, lang), "body": body,
            "urgent": True, "ack_required": True, "photo": alert.media_id is not None,
            "valid_until": None,
            "alert": info}, ref=alert.uid)


def photo_for_employee(session: Session, employee_id: int, uid: str) -> bytes | None:
    """The photo of alert ``uid`` for one of the people it was sent to (None for anyone
    else, and for an alert without a photo): the kiosk API's notice photo route asks here
    when ``uid`` names no notice."""
    if not _UID.fullmatch(uid or ""):
        return None
    row = session.execute(select(SafetyAlert.recipient_ids, Media.data)
                          .join(Media, Media.id == SafetyAlert.media_id)
                          .where(SafetyAlert.uid == uid)).first()
    if row is None or employee_id not in (row[0] or []):
        return None
    return row[1]


def photo(session: Session, alert_id: int) -> bytes | None:
    """An alert's photo for the console's safety area (its routes check the role)."""
    return session.execute(select(Media.data).join(SafetyAlert, SafetyAlert.media_id == Media.id)
                           .where(SafetyAlert.id == alert_id)).scalar_one_or_none()


# --- the console's view ---------------------------------------------------------------


@dataclass(frozen=True)
class AlertView:
    id: int
    pictogram: str
    text: str
    terminal: str
    person: str | None
    site: str | None
    raised_at: dt.datetime
    recipients: int
    handled_at: dt.datetime | None
    handled_by: str | None
    photo: bool = False  # a photo came with it (``photo(session, id)``)

    @property
    def open(self) -> bool:
        return self.handled_at is None


def listing(session: Session, *, open_only: bool = False, limit: int = 200) -> list[AlertView]:
    """The latest alerts, newest first (open ones only for the dashboard)."""
    stmt = (select(SafetyAlert, Terminal.name, Employee.name, Site.name, ConsoleUser.username)
            .join(Terminal, Terminal.id == SafetyAlert.terminal_id)
            .outerjoin(Employee, Employee.id == SafetyAlert.employee_id)
            .outerjoin(Site, Site.id == SafetyAlert.site_id)
            .outerjoin(ConsoleUser, ConsoleUser.id == SafetyAlert.handled_by)
            .order_by(SafetyAlert.raised_at.desc(), SafetyAlert.id.desc()).limit(limit))
    if open_only:
        stmt = stmt.where(SafetyAlert.handled_at.is_(None))
    return [AlertView(a.id, a.pictogram, a.text, term, person, site, a.raised_at, a.recipients,
                      a.handled_at, by, a.media_id is not None)
            for a, term, person, site, by in session.execute(stmt).tuples()]


def mark_handled(session: Session, alert_id: int, user_id: int, actor: str) -> SafetyAlert:
    """Who handled it and when, audited; handling it twice keeps the first."""
    alert = session.get(SafetyAlert, alert_id)
    if alert is None:
        raise NotFound("not_found", "No such safety alert.")
    if alert.handled_at is not None:
        return alert
    alert.handled_at = utcnow()
    alert.handled_by = user_id
    audit.record(session, actor, "safety.handled", f"safety_alert:{alert.id}",
                 pictogram=alert.pictogram, raised_at=alert.raised_at.isoformat())
    return alert


def as_dict(view: AlertView) -> dict[str, Any]:
    return {"id": view.id, "pictogram": view.pictogram, "text": view.text,
            "terminal": view.terminal, "person": view.person, "site": view.site,
            "raised_at": view.raised_at.isoformat(), "recipients": view.recipients}
