"""Badge sessions: who stands at which terminal. One session per terminal and per person.

The relay derives every sender from the session an uplink names *and* the terminal that
sent it (the authenticated MQTT username): a terminal can only speak for the sessions it
hosted, never for an id typed into a payload.

A terminal's password can be read off its disk, so the terminal is trusted only as far as
the person standing at it: badge-ins it tries are throttled per terminal (guessing badge
numbers or PINs costs growing waits, then suspends it), and a session stops speaking for
its person when it ends (logout, a console change, its age or idleness), except for the
outbox items typed before the end.
"""

from __future__ import annotations

import datetime as dt
import functools
import secrets
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import and_, case, exists, func, or_, select, true, update
from sqlalchemy.orm import Session

from hr_console.domain.throttle import TERMINAL_LOGINS
from hr_console.services import audit, downlinks, groups, reminders, settings, throttle
from hr_console.services.errors import ServiceError
from hr_console.services.secrets import badge_hash, check_secret, hash_secret
from hr_console.store.db import keep
from hr_console.store.models import (
    NOTIFY_END,
    AuditEntry,
    BadgeSession,
    Employee,
    Message,
    Terminal,
    utcnow,
)

# An outbox may flush long after its session ended (the link was down); its messages
# still belong to the person who typed them, within this window.
LATE_OUTBOX_DAYS = 7
# A session that ended without its end being declared (the console or the clock ended it and
# its kiosk never answered): at most this many late items, none beyond this many seqs past the
# terminal's mark at the end, all held for HR.
LATE_ITEMS_MAX = 20
# An end declared with it (the kiosk's logout, the badge-in that replaced the session) vouches
# for the session's late items only this long after the end: time enough for an honest
# outbox to flush what was typed offline (it sends in windows once the login or logout has
# gone, so the declaration may run far past what the relay has seen of the terminal). Later,
# it is the terminal's word alone: whoever holds its password could have made it, and could
# write on for a week in the person's name (the relay's own mark is no guard: the terminal
# moves it with any seq it sends, even refused).
DECLARED_FLUSH = dt.timedelta(minutes=15)
# A session's ``info`` key: its transaction is read and never written (the relay's look at
# an uplink before its batch, ``relay.handlers.clip_wanted``); an outlived session is then
# ended in memory only, as the batch will end it.
READ_ONLY = "relais.read_only"
# The idle clock is written at most this often (not once per uplink).
TOUCH_EVERY = dt.timedelta(seconds=30)

# Why a session ended, as the kiosk's logout says it.
END_REASONS = ("logout", "replaced", "deactivated", "badge_changed", "pin_changed",
               "terminal_revoked", "expired", "idle")

# A PIN check costs the same whether the badge exists or not: answer time says nothing about
# which badges are real.
@functools.cache
def _dummy_pin_hash() -> str:
    return hash_secret(secrets.token_hex(8))


@dataclass(frozen=True)
class Ended:
    session_id: str
    terminal: str
    employee_id: int


@dataclass(frozen=True)
class LoginResult:
    session_id: str
    employee_id: int
    name: str
    language: str
    ended: list[Ended]  # sessions closed by this badge-in (other terminal, previous person)
    replayed: bool = False  # the session this same login opened before (its answer was lost)


def terminal_by_name(session: Session, name: str) -> Terminal | None:
    return session.execute(select(Terminal).where(Terminal.name == name)).scalar_one_or_none()


def throttle_key(terminal: Terminal) -> str:
    return f"terminal-logins:{terminal.id}"


# --- badge-in -----------------------------------------------------------------------------


class StaleCheck(Exception):
    """The PIN verdict given to ``badge_in`` was reached on a hash that is no longer the one
    to check (the PIN, badge, or ``pin_always`` changed meanwhile): check again."""


Verify = Callable[[str, str], bool]  # (stored hash, typed PIN) -> right


def badge_in(session: Session, terminal: Terminal, badge: str, pin: str | None,
             pepper: str, *, declared_seq: int | None = None,
             verify: Verify = check_secret, login_ref: str | None = None) -> LoginResult:
    """Open a session, or raise ServiceError with a code the kiosk explains: suspended,
    wait (``wait`` seconds), pin_required, bad_badge, bad_pin, bad_credentials (badge or
    PIN, when every badge-in asks for a PIN) or locked (``until``). ``declared_seq`` is the
    terminal's outbox mark, from its login.

    ``verify`` checks a PIN against its slow hash. The relay's login desk runs that check
    outside any transaction (``pin_to_check`` tells which hash, ``Verdict`` replays it
    here), so the transaction that opens the session stays short. ``login_ref``: the login
    uplink's id, kept on the session for ``replayed_login``.

    The caller holds the terminal's row (``FOR UPDATE`` on PostgreSQL, the write lock on
    SQLite): a login sent again that another relay (a partition changing hands) or another
    desk thread has just committed is seen here and answered with its session, never
    opened a second time. A second session would replace the first, and what the kiosk
    typed in the first after its answer would be refused as a session that ended."""
    if login_ref:
        again = replayed_login(session, terminal, login_ref, badge, pepper)
        if again is not None:
            return again
    pin_always, employee = _who(session, terminal, badge, pin, pepper, lock=True)
    stored = _hash_to_check(pin_always, employee)
    right = verify(stored, pin or "") if stored is not None else True
    if employee is None:
        audit.record(session, f"terminal:{terminal.name}", "badge.unknown",
                     chain=audit.terminal_chain(terminal.id))
        _terminal_failed(session, terminal)
        if pin_always:
            raise ServiceError("bad_credentials", "Badge or PIN not recognised.")
        raise ServiceError("bad_badge", "This badge is not recognised.")
    locked = _locked(employee)
    if not right:
        if pin_always:
            # Nothing about the badge (not even that it is locked) is said before its PIN is
            # right, so a guessed number learns nothing.
            if locked is None:
                _badge_failed(session, employee, terminal)
            _terminal_failed(session, terminal)
            raise ServiceError("bad_credentials", "Badge or PIN not recognised.")
        _badge_failed(session, employee, terminal)
        _terminal_failed(session, terminal)
        locked = _locked(employee)
        if locked is not None:
            raise ServiceError("locked", "Too many wrong PINs: this badge is locked.",
                               **locked.detail)
        raise ServiceError("bad_pin", "Wrong PIN.")
    if locked is not None:
        raise locked  # with pin_always: only to whoever knows the badge and its PIN
    employee.failed_logins = 0
    employee.locked_until = None
    return _open(session, terminal, employee, declared_seq, login_ref)


REPLAY_WINDOW = dt.timedelta(minutes=2)  # a kiosk stops sending a login again well before


def replayed_login(session: Session, terminal: Terminal, login_ref: str, badge: str,
                   pepper: str) -> LoginResult | None:
    """The session this very login (same uplink id, same badge, same terminal) opened a
    moment ago and which is still open, or None. A kiosk sends its login again until it
    has an answer; the first may have been handled and its answer lost (a relay hand-over,
    a broker restart): the same session is answered again instead of a second badge-in
    that would end the first, and a PIN is not checked twice. Reads only."""
    row = session.execute(
        select(BadgeSession, Employee).join(Employee, Employee.id == BadgeSession.employee_id)
        .where(BadgeSession.terminal_id == terminal.id, BadgeSession.ended_at.is_(None),
               BadgeSession.login_ref == login_ref,
               BadgeSession.started_at > utcnow() - REPLAY_WINDOW)).first()
    if row is None:
        return None
    bs, employee = row
    if employee.badge_hash != badge_hash(pepper, badge) or not employee.active:
        return None
    return LoginResult(bs.id, employee.id, employee.name, employee.language, [], replayed=True)


def pin_to_check(session: Session, terminal: Terminal, badge: str, pin: str | None,
                 pepper: str) -> str | None:
    """The hash ``badge_in`` would check the PIN against now (None: none), read without
    writing anything; raises the refusals that write nothing (suspended, wait,
    pin_required, a locked badge when PINs are asked only of some badges)."""
    return _hash_to_check(*_who(session, terminal, badge, pin, pepper))


@dataclass(frozen=True)
class Verdict:
    """A PIN check made earlier, outside the transaction, replayed as ``badge_in``'s
    ``verify``: valid only for the very hash it was made on."""

    stored: str | None
    right: bool

    def __call__(self, stored: str, _pin: str) -> bool:
        if stored != self.stored:
            raise StaleCheck
        return self.right


def _who(session: Session, terminal: Terminal, badge: str, pin: str | None,
         pepper: str, *, lock: bool = False) -> tuple[bool, Employee | None]:
    """Whether every badge-in asks for a PIN, and the active employee of the badge (None:
    unknown or inactive). Raises what is refused before any PIN check, writing nothing.
    ``lock``: the employee's row is locked (PostgreSQL) so that two badge-ins of one person
    at two terminals at once (two relays, or the login desk's threads) cannot both miss the
    other's new session and leave that person with two."""
    _check_terminal_may_try(session, terminal)
    pin_always = bool(settings.get(session, "pin_always"))
    if pin_always and not pin:
        # Asked of every badge before it is looked up: the answer says nothing about it.
        raise ServiceError("pin_required", "Enter your PIN.")
    stmt = select(Employee).where(Employee.badge_hash == badge_hash(pepper, badge))
    employee = session.execute(stmt.with_for_update() if lock else stmt).scalar_one_or_none()
    if employee is None or not employee.active:
        return pin_always, None
    if not pin_always:
        # Badges that are hard to copy: a badge may say it is locked or needs its PIN.
        locked = _locked(employee)
        if locked is not None:
            raise locked
        if employee.pin_hash and not pin:
            raise ServiceError("pin_required", "Enter your PIN.")
    return pin_always, employee


def _hash_to_check(pin_always: bool, employee: Employee | None) -> str | None:
    """A PIN check costs the same whether the badge exists or not when every badge-in asks
    for one: answer time says nothing about which badges are real."""
    if pin_always:
        return (employee.pin_hash if employee is not None else None) or _dummy_pin_hash()
    return employee.pin_hash if employee is not None else None


def _locked(employee: Employee) -> ServiceError | None:
    if employee.locked_until and employee.locked_until > utcnow():
        return ServiceError("locked", "This badge is locked.",
                            until=employee.locked_until.isoformat())
    return None


def _open(session: Session, terminal: Terminal, employee: Employee,
          declared_seq: int | None, login_ref: str | None = None) -> LoginResult:
    now = utcnow()
    lim = limits(session)
    # The relay tells their terminals with this login. What this badge-in declares vouches
    # for the sessions it replaces, not for one past its age or idle limit: that one ended
    # at its limit, whether or not the relay's round has ended it yet.
    ended: list[Ended] = []
    replaced: set[str] = set()
    for row in session.execute(select(BadgeSession).where(
            BadgeSession.ended_at.is_(None),
            (BadgeSession.terminal_id == terminal.id) | (BadgeSession.employee_id == employee.id),
    )).scalars().all():
        outlived = _expiry_reason(row, now, lim)
        end = _end(session, row, outlived or "replaced", notify=False)
        if end is not None:
            ended.append(end)
            if outlived is None:
                replaced.add(end.session_id)
    if declared_seq is not None:
        _close_windows(session, terminal, declared_seq, replaced)
    sid = str(uuid.uuid4())
    mark = declared_seq if declared_seq is not None else terminal.last_seq or 0
    session.add(BadgeSession(id=sid, employee_id=employee.id, terminal_id=terminal.id,
                             started_at=now, last_active_at=now, start_mark=mark,
                             login_ref=login_ref))
    downlinks.drop_group_copies(session, employee.id,
                                keep=[g.id for g in groups.groups_of(session, employee.id)])
    downlinks.reset_for(session, employee.id)
    # The sync that follows presents again what they were given and have not acknowledged.
    reminders.at_badge_in(session, employee.id)
    session.flush()
    return LoginResult(sid, employee.id, employee.name, employee.language, ended)


def _close_windows(session: Session, terminal: Terminal, mark: int,
                   replaced: set[str]) -> None:
    """A real badge-in on this terminal (it took a real badge) says where its outbox stands:
    the sessions it hosted before typed nothing after that, whether or not their kiosk ever
    answered the end of its session. For those it ends now (``replaced``, open until this
    badge-in) that is their declared end (``vouched``); for those the server had ended
    already and no kiosk answered, it is the terminal's word after the fact
    (``closed_late``): it narrows what may still arrive for them, and vouches for none of it
    (``author``)."""
    late = and_(BadgeSession.closed_seq.is_(None), BadgeSession.id.not_in(sorted(replaced)))
    session.execute(update(BadgeSession).where(
        BadgeSession.terminal_id == terminal.id, BadgeSession.ended_at.is_not(None),
        BadgeSession.ended_at > utcnow() - dt.timedelta(days=LATE_OUTBOX_DAYS),
        or_(BadgeSession.closed_seq.is_(None), BadgeSession.closed_seq > mark),
    ).values(closed_seq=mark, closed_late=case((late, true()), else_=BadgeSession.closed_late))
     .execution_options(synchronize_session="fetch"))


def _check_terminal_may_try(session: Session, terminal: Terminal) -> None:
    """Before anything about the badge is looked at: a suspended terminal, or one that must
    still wait after its last misses, learns nothing from its attempt."""
    if terminal.logins_suspended_at is not None:
        raise ServiceError("suspended", "This terminal no longer accepts badges. Ask HR.")
    standing = throttle.standing(session, throttle_key(terminal), TERMINAL_LOGINS)
    if standing.wait_s > 0:
        wait = int(standing.wait_s + 0.999)
        raise ServiceError("wait", f"Too many attempts: wait {wait} s.", wait=wait)


def _terminal_failed(session: Session, terminal: Terminal) -> None:
    standing = throttle.failed(session, throttle_key(terminal), TERMINAL_LOGINS)
    if TERMINAL_LOGINS.suspends(standing.failures) and terminal.logins_suspended_at is None:
        terminal.logins_suspended_at = utcnow()
        audit.record(session, f"terminal:{terminal.name}", "terminal.logins_suspended",
                     f"terminal:{terminal.id}", chain=audit.terminal_chain(terminal.id),
                     name=terminal.name, failures=standing.failures)


def _badge_failed(session: Session, employee: Employee, terminal: Terminal) -> None:
    audit.record(session, f"terminal:{terminal.name}", "badge.wrong_pin", f"employee:{employee.id}",
                 chain=audit.terminal_chain(terminal.id))
    employee.failed_logins = (employee.failed_logins or 0) + 1
    if employee.failed_logins >= int(settings.get(session, "badge_max_failures")):
        minutes = int(settings.get(session, "badge_lock_minutes"))
        employee.locked_until = utcnow() + dt.timedelta(minutes=minutes)
        employee.failed_logins = 0
        audit.record(session, f"terminal:{terminal.name}", "badge.locked",
                     f"employee:{employee.id}", chain=audit.terminal_chain(terminal.id),
                     minutes=minutes)


def resume_logins(session: Session, terminal: Terminal, actor: str) -> bool:
    """HR lets a suspended terminal take badge-ins again (its misses are forgotten)."""
    throttle.clear(session, throttle_key(terminal))
    if terminal.logins_suspended_at is None:
        return False
    terminal.logins_suspended_at = None
    audit.record(session, actor, "terminal.logins_resumed", f"terminal:{terminal.id}",
                 name=terminal.name)
    return True


# Misses in a day that make a terminal worth a look even when they came too slowly to
# suspend it (someone pacing their guesses): far above what a badge reader misreads.
DAILY_MISSES_ALERT = 30


@dataclass(frozen=True)
class Misses:
    terminal: str
    count: int


def terminals_with_many_misses(session: Session, *, hours: int = 24,
                               at_least: int = DAILY_MISSES_ALERT) -> list[Misses]:
    """Terminals with at least ``at_least`` unknown badges and wrong PINs in the last
    ``hours``, from the audit log (its time index: a day's entries, not the whole log)."""
    since = utcnow() - dt.timedelta(hours=hours)
    n = func.count().label("n")
    rows = session.execute(
        select(AuditEntry.actor, n)
        .where(AuditEntry.ts >= since, AuditEntry.action.in_(("badge.unknown", "badge.wrong_pin")))
        .group_by(AuditEntry.actor).having(func.count() >= at_least).order_by(n.desc())).all()
    return [Misses(actor.removeprefix("terminal:"), int(count)) for actor, count in rows]


def suspended_terminals(session: Session) -> list[Terminal]:
    return list(session.execute(
        select(Terminal).where(Terminal.logins_suspended_at.is_not(None), Terminal.active.is_(True))
        .order_by(Terminal.logins_suspended_at)).scalars())


# --- ending ---------------------------------------------------------------------------------


def _end(session: Session, row: BadgeSession, reason: str, *, notify: bool = True
         ) -> Ended | None:
    """End one open session. ``end_mark`` keeps where its terminal's outbox stood, which
    bounds what may still arrive for it; ``notify`` leaves the relay a logout to send.

    The first end wins: ``row`` was read open, perhaps before another transaction (the
    console, the relay's logout or clock) committed an end of its own, which a plain write
    would overwrite (a logout written over HR's deactivation made the end "declared", so
    the thief's late items were vouched for). So the end is one conditional UPDATE; if it
    finds the session ended already, ``row`` is read again and None returned. In a
    transaction that is never written (``READ_ONLY``) the end is made in memory only, for
    what the caller reads next."""
    terminal = row.terminal
    values = {"ended_at": utcnow(), "end_reason": reason, "end_mark": terminal.last_seq or 0,
              "notify_end": notify}
    if session.info.get(READ_ONLY):
        for key, value in values.items():
            setattr(row, key, value)
        return Ended(row.id, terminal.name, row.employee_id)
    session.flush()  # nothing of the row's pending is lost to the read below (no_autoflush)
    ended = session.execute(
        update(BadgeSession).where(BadgeSession.id == row.id, BadgeSession.ended_at.is_(None))
        .values(**values).execution_options(synchronize_session=False)).rowcount
    # Read again either way: this end, or the one that came first. Expired, not set: a
    # savepoint rolled back after the end would otherwise leave the row ended in memory.
    session.expire(row, list(values))
    if not ended:
        return None
    return Ended(row.id, terminal.name, row.employee_id)


def _end_all(session: Session, rows: Iterable[BadgeSession], reason: str, *,
             notify: bool = True) -> list[Ended]:
    return [e for e in (_end(session, row, reason, notify=notify) for row in rows)
            if e is not None]


def end_for_employee(session: Session, employee_id: int, reason: str) -> list[Ended]:
    """The console changed who this person is (deactivated, badge or PIN changed): whatever
    session they have open ends now, and its terminal is told."""
    rows = session.execute(select(BadgeSession).where(
        BadgeSession.employee_id == employee_id, BadgeSession.ended_at.is_(None))).scalars().all()
    return _end_all(session, rows, reason)


def end_on_terminal(session: Session, terminal: Terminal, reason: str, *,
                    notify: bool = False) -> list[Ended]:
    rows = session.execute(select(BadgeSession).where(
        BadgeSession.terminal_id == terminal.id, BadgeSession.ended_at.is_(None))).scalars().all()
    return _end_all(session, rows, reason, notify=notify)


def badge_out(session: Session, terminal: Terminal, sid: str, last_seq: int | None = None,
              reason: str = "logout") -> bool:
    """The kiosk's logout. ``last_seq`` (the last outbox seq it gave out) closes the session
    to later items; it also answers a logout the server sent, so a session the console
    ended is closed as tightly. Returns whether the session was open."""
    row = session.get(BadgeSession, sid)
    if row is None or row.terminal_id != terminal.id:
        return False
    # Open as read, and still open when ended (``_end``: the console may have ended it
    # meanwhile, and then this logout is the terminal's word after the end). One past its
    # age or idle limit ended at that limit, whether or not the relay's round has ended it
    # yet: the logout comes after that end, and vouches for nothing.
    was_open = False
    if row.ended_at is None:
        outlived = _expiry_reason(row, utcnow(), limits(session))
        ended = _end(session, row, outlived or reason, notify=False)
        was_open = ended is not None and outlived is None
    if last_seq is not None and row.closed_seq is None:
        # The end declared with the logout that makes it (``vouched``). Said of a session
        # the server had ended already (the console, its age or idle limit, another
        # badge-in), it is the terminal's word alone, which whoever holds its password can
        # forge: it narrows the window but vouches for nothing (``closed_late``: late items
        # stay few and held for HR).
        row.closed_seq = last_seq
        row.closed_late = not was_open
    elif last_seq is not None:
        # Only ever lowered: a second logout (the kiosk's answer to the relay's, or one forged
        # by whoever holds the terminal's password) cannot reopen room for later items, and
        # the terminal's next real badge-in lowers it to its own outbox mark.
        row.closed_seq = min(row.closed_seq, last_seq)
    return was_open


# --- speaking for a session -------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    max_age: dt.timedelta
    idle: dt.timedelta


def limits(session: Session) -> Limits:
    return Limits(dt.timedelta(hours=float(settings.get(session, "session_max_hours"))),
                  dt.timedelta(minutes=float(settings.get(session, "session_idle_minutes"))))


def _expiry_reason(row: BadgeSession, now: dt.datetime, lim: Limits) -> str | None:
    if row.started_at <= now - lim.max_age:
        return "expired"
    if (row.last_active_at or row.started_at) <= now - lim.idle:
        return "idle"
    return None


def _hosted(session: Session, terminal: Terminal, sid: str | None) -> BadgeSession:
    row = session.get(BadgeSession, sid) if sid else None
    if row is None or row.terminal_id != terminal.id:
        raise ServiceError("no_session", "No badge session on this terminal.")
    keep(session, row)  # the terminal's next uplinks of the batch: no query
    return row


def _live(session: Session, row: BadgeSession) -> bool:
    """Whether an open session may still act, ending it if it outlived the limits; touches
    its idle clock when it may."""
    if row.ended_at is not None:
        return False
    now = utcnow()
    reason = _expiry_reason(row, now, limits(session))
    if reason is not None:
        _end(session, row, reason)
        return False
    if row.last_active_at is None or now - row.last_active_at >= TOUCH_EVERY:
        row.last_active_at = now
    return True


def speaker(session: Session, terminal: Terminal, sid: str | None) -> BadgeSession:
    """The open session an uplink (sync, receipt) or a kiosk API call acts for: opened on
    this very terminal, not ended, not past its age or idle limit."""
    row = _hosted(session, terminal, sid)
    if not _live(session, row):
        raise ServiceError("session_ended", "This badge session has ended.")
    return row


def reader(session: Session, terminal: Terminal, sid: str | None) -> BadgeSession:
    """``speaker`` without writing, for a read-only transaction (the relay's desk builds a
    sync there): the session must be open on this terminal and within its limits. One past
    them is refused here and ended by the relay's next expiry round; a sync does not move
    the idle clock (a kiosk asks for one by itself after a reconnection)."""
    row = _hosted(session, terminal, sid)
    if row.ended_at is not None or _expiry_reason(row, utcnow(), limits(session)) is not None:
        raise ServiceError("session_ended", "This badge session has ended.")
    return row


def author(session: Session, terminal: Terminal, sid: str | None, seq: int,
           client_id: str) -> BadgeSession:
    """The session an outbox item (a message) was typed in. After the session ended, only
    what was typed before: a seq above the terminal's mark when the session began, up to what
    its logout (or the terminal's next badge-in) declared, not already spent by another
    stored message of the terminal, within ``LATE_OUTBOX_DAYS`` and retention; when no end
    was declared, at most ``LATE_ITEMS_MAX`` items close to the terminal's mark at the end.
    Anything else is refused: the terminal no longer speaks, nor reads, for that person (a
    resend of an item stored before the end is settled by the refusal, without its state)."""
    row = _hosted(session, terminal, sid)
    if _live(session, row):
        return row
    assert row.ended_at is not None
    # Never longer than retention: a purged message's seq must not become free again.
    days = min(LATE_OUTBOX_DAYS, int(settings.get(session, "retention_days")))
    late = row.ended_at > utcnow() - dt.timedelta(days=days)
    low = row.start_mark if row.start_mark is not None else -1
    # Declared with the end (its kiosk's logout, or the badge-in that replaced it): exact,
    # everything up to it was typed before it, while its outbox flushes. Otherwise (no
    # word, the terminal's word after the server ended it, or a declaration whose outbox
    # had its time to flush), a handful at most, and held for HR (``needs_review``).
    declared = vouched(row)
    high = (row.end_mark or 0) + LATE_ITEMS_MAX
    if row.closed_seq is not None:
        high = row.closed_seq if declared else min(high, row.closed_seq)
    if not (late and low < seq <= high) or _already_stored(session, row, client_id) \
            or _seq_taken(session, terminal, seq) \
            or (not declared and _late_items(session, row) >= LATE_ITEMS_MAX):
        raise ServiceError("session_ended", "This badge session has ended.")
    return row


def vouched(row: BadgeSession) -> bool:
    """Whether an ended session's declared end still vouches for its late items: declared
    with the end (not after it, ``closed_late``) and within ``DECLARED_FLUSH`` of it."""
    if row.closed_seq is None or row.closed_late or row.ended_at is None:
        return False
    return utcnow() - row.ended_at <= DECLARED_FLUSH


def needs_review(row: BadgeSession) -> bool:
    """A late item of a session whose end no kiosk vouches for (the console or the clock
    ended it, and the terminal never answered or answered only after; or a declaration
    whose time to flush has passed): kept, since it may have been typed offline before
    the end, but held for HR, since whoever holds the terminal's password could have written
    it, and its logout too."""
    return row.ended_at is not None and not vouched(row)


def _already_stored(session: Session, row: BadgeSession, client_id: str) -> bool:
    return bool(session.scalar(select(exists().where(
        Message.sender_id == row.employee_id, Message.client_id == client_id))))


def _seq_taken(session: Session, terminal: Terminal, seq: int) -> bool:
    """A seq the terminal already spent on a stored message: a replay dressed as a late item."""
    return bool(session.scalar(select(exists().where(
        Message.terminal_id == terminal.id, Message.seq == seq))))


def _late_items(session: Session, row: BadgeSession) -> int:
    return session.scalar(select(func.count()).select_from(Message).where(
        Message.sender_id == row.employee_id, Message.created_at >= row.ended_at,
        Message.terminal_id == row.terminal_id)) or 0


def active_session(session: Session, employee_id: int) -> BadgeSession | None:
    return session.execute(
        select(BadgeSession).where(BadgeSession.employee_id == employee_id,
                                   BadgeSession.ended_at.is_(None))
    ).scalar_one_or_none()


# --- what the relay does on its rounds --------------------------------------------------------


def expire_due(session: Session) -> int:
    """End the open sessions past their age or idle limit (their terminals are then told).
    Open sessions are one per terminal at most: this reads a handful of rows."""
    now = utcnow()
    lim = limits(session)
    rows = session.execute(select(BadgeSession).where(
        BadgeSession.ended_at.is_(None),
        or_(BadgeSession.started_at <= now - lim.max_age,
            func.coalesce(BadgeSession.last_active_at, BadgeSession.started_at) <= now - lim.idle),
    )).scalars().all()
    return sum(_end(session, row, _expiry_reason(row, now, lim) or "expired") is not None
               for row in rows)


@dataclass(frozen=True)
class EndNotice:
    terminal: str
    session_id: str
    reason: str


def claim_end_notices(session: Session, limit: int = 200) -> list[EndNotice]:
    """Sessions the server ended whose terminal has not been told yet, claimed by this caller
    (one conditional UPDATE: with several relays, one sends each logout)."""
    ids = list(session.execute(select(BadgeSession.id).where(
        NOTIFY_END).limit(limit)).scalars())
    if not ids:
        return []
    claimed = list(session.execute(
        update(BadgeSession).where(BadgeSession.id.in_(ids), NOTIFY_END)
        .values(notify_end=False).returning(BadgeSession.id)).scalars())
    if not claimed:
        return []
    rows = session.execute(
        select(BadgeSession.id, Terminal.name, BadgeSession.end_reason)
        .join(Terminal, and_(Terminal.id == BadgeSession.terminal_id, Terminal.active.is_(True)))
        .where(BadgeSession.id.in_(claimed))).all()
    return [EndNotice(name, sid, reason or "ended") for sid, name, reason in rows]
