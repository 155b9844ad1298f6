"""The messaging charter end to end (issue 17): terminal links -> real Mosquitto -> relay ->
database. Without a charter the sync carries only the handling facts; once HR publishes one,
every badge-in's sync carries the version in force in the person's language and whether
they accepted it. An acceptance is recorded and audited once however often the kiosk's
outbox sends it; a new version asks again; an acceptance of an older version records that
version (what the person read), never the newer one.

Attacks, with the credentials a terminal's disk gives: another terminal's password cannot
accept in the name of someone badged in elsewhere, an acceptance without a badge session is
refused at the wire, an unknown version changes nothing.

Runs on SQLite and, when RELAIS_TEST_PG_URL is set, on PostgreSQL.
"""

from __future__ import annotations

import uuid

from sqlalchemy import func, select, update

from hr_console.domain.charter import starting_text
from hr_console.services import charter
from hr_console.store.models import AuditEntry, CharterAcceptance, Employee
from kiosk_app.link import events as ev
from kiosk_app.link.client import TerminalLink
from relais_wire import topics
from relais_wire.envelope import encode, envelope
from tests.e2e.test_groups import _links
from tests.security.test_bad_input_corpus import RawTerminal
from tests.system_fixture import System, expect


def _publish(system: System, **changes: str) -> int:
    texts = starting_text(365, "pre")
    for key, value in changes.items():  # fr_purpose="..."
        lang, section = key.split("_", 1)
        texts[lang][section] = value
    with system.store.session() as s:
        return charter.publish(s, texts, actor="hr").version


def _accept(link: TerminalLink, version: int, item: str | None = None) -> tuple[str, ev.StateChanged]:
    """What the kiosk's charter screen sends, published as its outbox does (same id again
    for a resend)."""
    item = item or str(uuid.uuid4())
    link.client.publish(topics.uplink(link.terminal),
                        encode(envelope("charter", id=item, sid=link.sid, version=version)),
                        qos=1).wait_for_publish(5)
    return item, expect(link, ev.StateChanged, lambda e: e.msg == item and e.state != "outbox")


def _rows(system: System) -> list[tuple[int, int, str]]:
    with system.store.session() as s:
        return [(v.version, a.employee_id, a.terminal) for a, v in s.execute(
            select(CharterAcceptance, charter.CharterVersion)
            .join(charter.CharterVersion, charter.CharterVersion.id == CharterAcceptance.charter_id)
            .order_by(CharterAcceptance.id)).all()]


def _audited(system: System) -> list[AuditEntry]:
    with system.store.session() as s:
        return list(s.execute(select(AuditEntry).where(AuditEntry.action == charter.ACCEPTED)
                              .order_by(AuditEntry.id)).scalars())


def test_the_charter_is_in_the_sync_and_accepted_once_per_version(system: System) -> None:
    k1, k2 = _links(system, 2)
    karim = system.employee("Karim Benali")
    synced = system.badge_in(k1, "Karim Benali")
    assert "charter" not in synced.me  # nothing published: no gate
    assert synced.me["handling"] == {"moderation": "pre", "retention_days": 365,
                                     "media_held": False}
    k1.logout()

    first = _publish(system, fr_contact="Écrivez à Claire Dubois, service RH.",
                     en_contact="Write to Claire Dubois, HR.")
    synced = system.badge_in(k1, "Karim Benali")
    got = synced.me["charter"]
    assert (got["version"], got["accepted"]) == (first, False) and "accepted_at" not in got
    assert got["sections"]["contact"] == "Écrivez à Claire Dubois, service RH."  # his French
    assert set(got["sections"]) == {"purpose", "moderation", "retention", "contact"}

    item, state = _accept(k1, first)
    assert state.state == "accepted"
    assert _rows(system) == [(first, karim, "kiosk-1")]
    # The outbox sends it again (same id), then a restarted kiosk accepts again: one row.
    assert _accept(k1, first, item)[1].state == "accepted"
    assert _accept(k1, first)[1].state == "accepted"
    assert _rows(system) == [(first, karim, "kiosk-1")]
    [entry] = _audited(system)
    assert (entry.actor, entry.target) == (f"employee:{karim}", f"charter:{first}")
    assert entry.detail["terminal"] == "kiosk-1" and entry.detail["uplink"] == item

    k1.request_sync()
    again = expect(k1, ev.Synced).me["charter"]
    assert again["accepted"] is True and again["accepted_at"][:4].isdigit()

    # A new version asks again, in English for someone who reads English.
    with system.store.session() as s:
        s.execute(update(Employee).where(Employee.id == karim).values(language="en"))
    second = _publish(system, en_contact="Ask the HR desk.", fr_contact="Demandez aux RH.")
    k1.request_sync()
    now = expect(k1, ev.Synced).me["charter"]
    assert (now["version"], now["accepted"]) == (second, False)
    assert now["sections"]["contact"] == "Ask the HR desk."
    # A kiosk that still showed the first version accepts it: that is what he read.
    assert _accept(k1, first)[1].state == "accepted"
    assert _rows(system) == [(first, karim, "kiosk-1")]
    assert _accept(k1, second)[1].state == "accepted"
    assert _rows(system) == [(first, karim, "kiosk-1"), (second, karim, "kiosk-1")]
    assert len(_audited(system)) == 2

    # Julie on the other terminal has accepted nothing.
    julie = system.badge_in(k2, "Julie Moreau", "4321").me["charter"]
    assert (julie["version"], julie["accepted"]) == (second, False)


def test_a_stolen_terminal_password_cannot_accept_for_anyone(system: System) -> None:
    version = _publish(system)
    k1, k2 = _links(system, 2)
    system.badge_in(k1, "Karim Benali")
    system.badge_in(k2, "Julie Moreau", "4321")
    k2.stop()  # its broker identity is taken by the raw client below
    raw = RawTerminal(system, "kiosk-2")
    try:
        # Karim's session id, learnt somehow, from kiosk-2's credentials: not its session.
        answer = raw.ask(encode(envelope("charter", sid=k1.sid, version=version)))
        assert answer["type"] == "error" and answer["code"] in ("no_session", "session_ended")
        # No session at all: refused at the wire.
        answer = raw.ask(encode({"v": 1, "type": "charter", "id": str(uuid.uuid4()),
                                 "ts": 1, "version": version}))
        assert answer["type"] == "error" and answer["code"] == "missing_field"
    finally:
        raw.close()
    # An unknown version from the right terminal and session: refused, nothing written.
    item, state = _accept(k1, version + 5)
    assert (state.state, state.reason) == ("error", "unknown_charter")
    assert _rows(system) == [] and _audited(system) == []
    with system.store.session() as s:
        assert s.scalar(select(func.count()).select_from(CharterAcceptance)) == 0
