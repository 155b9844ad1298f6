"""The notice form's reminder interval and the reminders on the tracking page (issue 16), on
SQLite and PostgreSQL: "Remind every N minutes while badged in" is stored as chosen, an
urgent notice repeats every 5 minutes unless told otherwise, a bad or pointless interval is
refused with a clear error and nothing stored, and the tracking page counts every reminder
sent (HR's button and the relay's, per person and in all), in French and English."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from sqlalchemy import func, select

from hr_console.services import notices as notices_svc
from hr_console.services import reminders
from hr_console.store.models import (
    BadgeSession,
    ConsoleUser,
    Notice,
    NoticeReceipt,
    Terminal,
    utcnow,
)
from tests.web.test_notices import _create, _employee, _receipts, _send, _team

MIN = dt.timedelta(minutes=1)


def _notice(console) -> Notice:  # noqa: ANN001
    with console.session() as s:
        return s.execute(select(Notice)).scalar_one()


def _notices(console) -> int:  # noqa: ANN001
    with console.session() as s:
        return s.scalar(select(func.count()).select_from(Notice)) or 0


def _english(console, username: str) -> None:  # noqa: ANN001
    with console.session() as s:
        s.execute(select(ConsoleUser).where(ConsoleUser.username == username)
                  ).scalar_one().language = "en"


def test_the_form_offers_the_interval_in_french_and_english(console) -> None:  # noqa: ANN001
    page = console.client("hr").get("/notices/new").get_data(as_text=True)
    assert "Relancer toutes les N minutes tant que la personne est badgée" in page
    options = re.findall(r'<option[^>]*value="([^"]*)"[^>]*>([^<]*)</option>',
                         page.split('id="remind_every"')[1].split("</select>")[0])
    assert [v for v, _ in options] == ["none", "5", "15", "30", "60"]
    assert [label for _, label in options] == [
        "Non : seulement à son prochain badgeage", "Toutes les 5 minutes",
        "Toutes les 15 minutes", "Toutes les 30 minutes", "Toutes les heures"]
    _english(console, "hr")
    page = console.client("hr").get("/notices/new").get_data(as_text=True)
    assert "Remind every N minutes while badged in" in page
    assert "No: only at their next badge-in" in page and "Every 15 minutes" in page


@pytest.mark.parametrize("extra,stored", [
    ({"ack_required": "y", "remind_every": "15"}, 15),
    ({"ack_required": "y", "remind_every": "60"}, 60),
    ({"ack_required": "y", "remind_every": "none"}, None),
    ({"ack_required": "y"}, None),  # the select not posted: at badge-in only
    ({}, None),  # no confirmation asked: no reminder
    ({"priority": "urgent"}, 5),  # urgent: every 5 minutes by default
    ({"priority": "urgent", "remind_every": "30"}, 30),
    ({"priority": "urgent", "remind_every": "none"}, None),
])
def test_the_interval_is_stored_as_chosen(console, extra: dict, stored: int | None) -> None:  # noqa: ANN001
    resp = _send(console, "hr", f"team:{_team(console, 'Atelier')}", **extra)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    n = _notice(console)
    assert n.remind_every_min == stored
    page = console.client("hr").get(f"/notices/{n.id}").get_data(as_text=True)
    if stored:
        assert f"toutes les {stored} minutes tant que la personne est badgée" in page
    elif n.ack_required:
        assert "À chaque badgeage, jusqu'à confirmation" in page


@pytest.mark.parametrize("extra,message", [
    ({"ack_required": "y", "remind_every": "3"}, "Choisissez la fréquence des relances"),
    ({"ack_required": "y", "remind_every": "1441"}, "Choisissez la fréquence des relances"),
    ({"ack_required": "y", "remind_every": "quinze"}, "Choisissez la fréquence des relances"),
    ({"ack_required": "y", "remind_every": "-5"}, "Choisissez la fréquence des relances"),
    ({"ack_required": "y", "remind_every": "1e3"}, "Choisissez la fréquence des relances"),
    ({"remind_every": "15"}, "Les relances se répètent"),
])
def test_a_bad_interval_is_refused_and_nothing_is_stored(console, extra: dict,  # noqa: ANN001
                                                         message: str) -> None:
    resp = _send(console, "hr", f"team:{_team(console, 'Atelier')}", **extra)
    assert resp.status_code == 400
    assert message in resp.get_data(as_text=True)
    assert _notices(console) == 0


def test_a_supervisor_sets_the_interval_on_their_team(console) -> None:  # noqa: ANN001
    resp = _send(console, "supervisor", f"team:{_team(console, 'Atelier')}",
                 ack_required="y", remind_every="30")
    assert resp.status_code == 302
    assert _notice(console).remind_every_min == 30


def test_tracking_counts_every_reminder_per_person_and_in_all(console) -> None:  # noqa: ANN001
    n = _create(console, ack_required=True, remind_every_min=5, title="Consignes EPI")
    karim, sophie, julie = (_employee(console, x)
                            for x in ("Karim Benali", "Sophie Martin", "Julie Moreau"))
    _receipts(console, n.uid, {"Karim Benali": "seen", "Sophie Martin": "acknowledged"})
    page = console.client("hr").get(f"/notices/{n.id}").get_data(as_text=True)
    assert re.search(r'data-count="reminders">\s*0<', page)
    assert "Relances envoyées" in page

    # HR's button: Karim and Julie (not acknowledged) get one each.
    assert console.client("hr").post(f"/notices/{n.id}/remind").status_code == 302
    # The relay's timer: Karim, badged in, five minutes after HR's reminder.
    with console.session() as s:
        terminal = s.execute(select(Terminal.id)).scalars().first()
        s.add(BadgeSession(id=str(uuid.uuid4()), employee_id=karim, terminal_id=terminal,
                           started_at=utcnow()))
    with console.session() as s:
        assert reminders.send_due(s, utcnow() + 6 * MIN) == 1
    page = console.client("hr").get(f"/notices/{n.id}").get_data(as_text=True)
    assert re.search(r'data-count="reminders">\s*3<', page)
    per_person = dict(re.findall(r'<tr data-employee="(\d+)".*?data-reminders="(\d+)"', page, re.S))
    assert per_person == {str(karim): "2", str(julie): "1", str(sophie): "0"}
    with console.session() as s:
        stored = dict(s.execute(select(NoticeReceipt.employee_id, NoticeReceipt.reminders)
                                .where(NoticeReceipt.notice_id == n.id)).all())
    assert stored == {karim: 2, julie: 1, sophie: 0}
    assert "toutes les 5 minutes tant que la personne est badgée" in page

    _english(console, "hr")
    page = console.client("hr").get(f"/notices/{n.id}").get_data(as_text=True)
    assert "Reminders sent" in page
    assert "At each badge-in, and every 5 minutes while badged in, until confirmed" in page


def test_the_supervisor_sees_the_counts_of_their_teams_notices(console) -> None:  # noqa: ANN001
    n = _create(console, ack_required=True)
    with console.session() as s:
        notices_svc.remind(s, notices_svc.EVERYTHING, n.id, "hr")
    page = console.client("supervisor").get(f"/notices/{n.id}").get_data(as_text=True)
    assert re.search(r'data-count="reminders">\s*3<', page)
