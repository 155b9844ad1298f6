"""Shift-aware contact rules and the off-shift notice end to end (issue 16): terminal links
-> real Mosquitto -> relay -> database. The relay's clock is ``services.shifts.now``, set by
the test (never slept): the Atelier team works Monday to Friday 06:00-14:00 in Paris with
the default 15 minutes of grace, and its team rule is made on-shift-only.

At 05:30 Karim's kiosk lists Julie greyed ("off_shift", from 06:00) and the relay refuses his
message to her with ``off_shift`` and when; his supervisor and the HR desk, whom rules
without the flag let him write to, are not touched. At 05:46 (grace) the same kind of message
goes through and reaches Julie's kiosk. With the off-shift notice on, the sync carries it
in his language; accepting it is audited once (actor, terminal, badge session) however
often the kiosk's outbox sends it, and another terminal's password cannot accept it in his
name.

Runs on SQLite and, when RELAIS_TEST_PG_URL is set, on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select, update

from hr_console.services import settings, shifts
from hr_console.store.models import AuditEntry, ContactRule, Employee, Message, Shift, Team
from kiosk_app.link import events as ev
from relais_wire import topics
from relais_wire.envelope import encode, envelope
from tests.e2e.test_groups import _links
from tests.security.test_bad_input_corpus import RawTerminal
from tests.system_fixture import System, expect

MONDAY_0530 = dt.datetime(2026, 12, 7, 4, 30, tzinfo=dt.UTC)  # 05:30 in Paris (winter)
MONDAY_0546 = dt.datetime(2026, 12, 7, 4, 46, tzinfo=dt.UTC)  # within the grace: on shift


class Clock:
    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock(MONDAY_0530)
    monkeypatch.setattr(shifts, "now", c)
    return c


def _atelier_on_shift_only(system: System) -> int:
    """Atelier: a 06:00-14:00 weekday shift, its team -> team rule on shift only, and no
    moderation (so an allowed message is delivered at once)."""
    with system.store.session() as s:
        team = s.execute(select(Team).where(Team.name == "Atelier")).scalar_one()
        team.moderation_mode = "none"  # what the relay decides is the contact rule alone
        s.add(Shift(name="Matin", team_id=team.id, days="mon,tue,wed,thu,fri",
                    start_time=dt.time(6), end_time=dt.time(14)))
        changed = s.execute(update(ContactRule).where(
            ContactRule.sender_kind == "team", ContactRule.sender_ref == team.id,
            ContactRule.recipient_kind == "team").values(on_shift_only=True)).rowcount
        assert changed == 1
        return team.id


def _state(link, msg_id: str) -> ev.StateChanged:  # noqa: ANN001
    return expect(link, ev.StateChanged, lambda e: e.msg == msg_id and e.state != "outbox")


def test_an_off_shift_rule_refuses_then_allows_as_the_clock_crosses_the_start(
        system: System, clock: Clock) -> None:
    _atelier_on_shift_only(system)
    k1, k2 = _links(system, 2)
    julie, karim = system.employee("Julie Moreau"), system.employee("Karim Benali")
    sophie, claire = system.employee("Sophie Martin"), system.employee("Claire Dubois (RH)")
    system.badge_in(k2, "Julie Moreau", "4321")
    synced = system.badge_in(k1, "Karim Benali")

    by_id = {c["id"]: c for c in synced.contacts}
    assert by_id[julie]["off_shift"] is True and by_id[julie]["from"] == "06:00"
    assert "from_day" not in by_id[julie]  # today
    # Rules without the flag still let him write to his supervisor and the HR desk.
    assert "off_shift" not in by_id[sophie] and "off_shift" not in by_id[claire]
    assert synced.me["off_shift"] is True and "off_shift_notice" not in synced.me  # notice off

    refused = k1.send_text(julie, "Tu peux m'ouvrir le quai 3 ?")
    state = _state(k1, refused)
    assert (state.state, state.reason, state.opens, state.opens_day) == (
        "refused", "off_shift", "06:00", "")
    ok = k1.send_text(sophie, "J'arrive plus tôt aujourd'hui")  # no flag: goes, off shift
    assert _state(k1, ok).state in ("accepted", "delivered")

    clock.at = MONDAY_0546  # 05:46: within the grace period before 06:00
    allowed = k1.send_text(julie, "Tu peux m'ouvrir le quai 3 maintenant ?")
    assert _state(k1, allowed).state in ("accepted", "delivered")
    got = expect(k2, ev.MessageArrived, lambda e: e.message.get("msg") == allowed)
    assert got.message["from"] == karim
    with system.store.session() as s:
        rows = {m.client_id: (m.state, m.reason) for m in s.execute(
            select(Message).where(Message.sender_id == karim)).scalars()}
    assert rows[refused] == ("refused", "off_shift")
    assert rows[allowed][0] in ("accepted", "delivered")

    # A sync on shift lists Julie as any contact.
    k1.request_sync()
    again = expect(k1, ev.Synced)
    assert {c["id"]: c for c in again.contacts}[julie].get("off_shift") is None
    assert "off_shift" not in again.me

    # After the shift and its grace (14:15), refused again; on Saturday, "from Monday".
    clock.at = dt.datetime(2026, 12, 12, 9, 0, tzinfo=dt.UTC)
    late = k1.send_text(julie, "Samedi ?")
    state = _state(k1, late)
    assert (state.reason, state.opens, state.opens_day) == ("off_shift", "06:00", "mon")


def test_the_off_shift_notice_is_shown_and_its_acceptance_audited_once(
        system: System, clock: Clock) -> None:
    _atelier_on_shift_only(system)
    with system.store.session() as s:
        settings.put(s, "off_shift_notice", True)
    k1, k2 = _links(system, 2)
    karim = system.employee("Karim Benali")
    synced = system.badge_in(k1, "Karim Benali")
    assert synced.me["off_shift"] is True and synced.me["from"] == "06:00"
    assert synced.me["off_shift_notice"] == "Ce temps n'est pas compté comme du temps de travail."
    # Amina's team has no shift: never off shift, no notice.
    amina = system.badge_in(k2, "Amina Diallo")
    assert "off_shift" not in amina.me and "off_shift_notice" not in amina.me

    item = k1.accept_off_shift()
    assert _state(k1, item).state == "accepted"
    [entry] = _audited(system)
    assert entry.actor == f"employee:{karim}" and entry.target == f"badge_session:{k1.sid}"
    assert entry.detail["terminal"] == "kiosk-1" and entry.detail["off_shift"] is True
    assert entry.detail["next_start"].startswith("2026-12-07T06:00")

    # The outbox sends it again (same id), the kiosk is restarted and accepts again: one entry.
    k1.client.publish(topics.uplink("kiosk-1"), encode(envelope("offshift", id=item, sid=k1.sid)),
                      qos=1).wait_for_publish(5)
    assert _state(k1, item).state == "accepted"
    second = k1.accept_off_shift()
    assert _state(k1, second).state == "accepted"
    assert len(_audited(system)) == 1

    # Another terminal's password cannot accept it for him; no session: refused at the wire.
    k2.stop()  # its broker identity is taken by the raw client below
    raw = RawTerminal(system, "kiosk-2")
    try:
        answer = raw.ask(encode(envelope("offshift", sid=k1.sid)))
        assert answer["type"] == "error" and answer["code"] in ("no_session", "session_ended")
        answer = raw.ask(json.dumps({"v": 1, "type": "offshift", "id": "0f6c6a3e-2f0e-4e8b-"
                                     "9d55-6c1d1e1b2a10", "ts": 1}).encode())
        assert answer["type"] == "error"
    finally:
        raw.close()
    assert len(_audited(system)) == 1

    # In the person's language, HR's own words once changed.
    with system.store.session() as s:
        settings.put(s, "off_shift_notice_text", {"fr": "Hors temps de travail.",
                                                  "en": "Not working time."})
        s.execute(update(Employee).where(Employee.id == karim).values(language="en"))
    k1.logout()
    synced = system.badge_in(k1, "Karim Benali")
    assert synced.me["off_shift_notice"] == "Not working time."


def _audited(system: System) -> list[AuditEntry]:
    with system.store.session() as s:
        return list(s.execute(select(AuditEntry).where(
            AuditEntry.action == shifts.NOTICE_ACTION)).scalars())
