"""Terminals over the kiosk HTTP API: the one-time enrolment code exchanged for fresh
credentials, and the check every later call makes (terminal name and password, then the
badge session a person's data is read for).

Failures are deliberately alike: a caller learns "unauthorised", never whether a terminal
or a session exists.
"""

from __future__ import annotations

import hashlib
import ssl
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from broker_config.passwords import hash_password, new_password, verify_password
from hr_console.config import Settings
from hr_console.services import audit, broker, sessions
from hr_console.services.directory import ENROL_CODE_MINUTES
from hr_console.services.errors import Invalid, ServiceError
from hr_console.services.secrets import code_hash
from hr_console.store.models import BadgeSession, Terminal, utcnow

MAX_CODE_CHARS = 64
# Checked when no terminal has the name given, so that a miss costs what a hit costs.
_DUMMY_HASH = hash_password("relais-no-such-terminal")


# What the server says when it refuses a code, as far as it safely can: a used code is
# forgotten at once (only its hash was kept), so "wrong" and "used" cannot be told apart, and
# a revoked terminal's code is "not valid" too, so nobody learns which terminals exist.
BAD_CODE = ("This enrolment code is not valid or has already been used: check it as shown "
            "in the console, or issue a new one (Terminals, Issue new credentials).")
CODE_EXPIRED = (f"This enrolment code has expired (a code is valid for {ENROL_CODE_MINUTES} "
                f"minutes): issue a new one (Terminals, Issue new credentials).")


def ca_fingerprint(cfg: Settings) -> str | None:
    """SHA-256 of the CA certificate terminals trust (``HOME/tls/ca.pem`` after ``relais
    init --tls``), as ``AB:CD:…`` like ``openssl x509 -fingerprint -sha256``. Shown next to
    a one-time code so the terminal can fetch the CA over an unverified connection and check
    it (``relais kiosk-enrol --ca-fingerprint``); None without a readable CA."""
    pem = ca_pem(cfg)
    if pem is None:
        return None
    try:
        der = ssl.PEM_cert_to_DER_cert(pem)
    except ValueError:
        return None
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def ca_pem(cfg: Settings) -> str | None:
    """The CA certificate terminals trust, in PEM (public: it is no secret), or None."""
    if not cfg.tls_ca:
        return None
    try:
        return Path(cfg.tls_ca).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        return None


class Refused(ServiceError):
    """The enrolment code is wrong, used, expired or for another terminal."""


@dataclass(frozen=True)
class Enrolment:
    terminal: str
    username: str
    password: str


def enrol(session: Session, cfg: Settings, code: str, name: str | None = None, *,
          actor: str = "kiosk-api") -> Enrolment:
    """Exchange a one-time code for new credentials: a fresh password (whatever was printed
    at ``terminal add`` stops working), the code cleared (single use), the broker re-rendered
    and reloaded so the password takes effect. Raises Invalid (malformed) or Refused (to be
    audited with ``record_refusal`` once this unit of work has rolled back)."""
    if not isinstance(code, str) or not code.strip() or len(code) > MAX_CODE_CHARS:
        raise Invalid("bad_request", "Send the enrolment code as a JSON string.", field="code")
    if name is not None and (not isinstance(name, str) or len(name) > 64):
        raise Invalid("bad_request", "The terminal name must be a short string.", field="name")
    digest = code_hash(code)
    stmt = select(Terminal).where(Terminal.enrol_code_hash == digest)
    if name:
        stmt = stmt.where(Terminal.name == name.strip())
    row = session.execute(stmt.limit(1)).scalar_one_or_none()
    if row is None or not row.active:
        raise Refused("bad_code", BAD_CODE)
    if row.enrol_expires is None or row.enrol_expires <= utcnow():
        raise Refused("code_expired", CODE_EXPIRED, terminal=row.name)
    password = new_password()
    # The conditional update is the claim: of two requests racing with one code, one wins.
    claimed = session.execute(
        update(Terminal)
        .where(Terminal.id == row.id, Terminal.enrol_code_hash == digest)
        .values(enrol_code_hash=None, enrol_expires=None, password_hash=hash_password(password))
        .execution_options(synchronize_session="fetch")
    ).rowcount
    if claimed != 1:
        raise Refused("bad_code", BAD_CODE)
    audit.record(session, actor, "terminal.enrol", f"terminal:{row.id}", name=row.name)
    session.flush()
    broker.apply(session, cfg)
    return Enrolment(row.name, row.name, password)


def record_refusal(session: Session, err: Refused, name: str | None, *,
                   actor: str = "kiosk-api") -> None:
    """Audit a refused enrolment, in its own unit of work (the refused one rolled back)."""
    audit.record(session, actor, "terminal.enrol_refused", None, reason=err.code,
                 name=(err.detail.get("terminal") or name or None))


def authenticate(session: Session, name: str | None, password: str | None) -> Terminal | None:
    """The active terminal these credentials belong to, or None (whatever the reason)."""
    if not name or password is None or len(name) > 64 or len(password) > 200:
        verify_password(password or "", _DUMMY_HASH)
        return None
    row = session.execute(select(Terminal).where(Terminal.name == name)).scalar_one_or_none()
    stored = row.password_hash if row is not None and row.active and row.password_hash else None
    ok = verify_password(password, stored or _DUMMY_HASH)
    return row if ok and stored else None


def badge_session(session: Session, terminal: Terminal, sid: str | None) -> BadgeSession | None:
    """The open badge session ``sid`` if this very terminal hosts it (None otherwise)."""
    if not sid or len(sid) > 36:
        return None
    try:
        # The same rule as the relay's: open, on this terminal, within its age and idle limits.
        return sessions.speaker(session, terminal, sid)
    except ServiceError:
        return None

