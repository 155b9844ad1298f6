"""Badge sessions through the real relay: PIN, lock-out, one session per terminal and per
person, logout, and privacy of a terminal that changed hands."""

from __future__ import annotations

from kiosk_app.link import events as ev
from tests.system_fixture import expect, expect_none


def test_unknown_badge_is_refused(system) -> None:  # noqa: ANN001
    k1 = system.link("kiosk-1")
    k1.login("0000-unknown")
    failed = expect(k1, ev.LoginFailed)
    assert failed.code == "bad_badge"
    assert k1.sid is None


def test_pin_required_wrong_pin_and_lock(system) -> None:  # noqa: ANN001
    k1 = system.link("kiosk-1")
    badge = system.demo.badges["Julie Moreau"]
    k1.login(badge)
    assert expect(k1, ev.LoginFailed).code == "pin_required"
    for _ in range(4):
        k1.login(badge, "0000")
        assert expect(k1, ev.LoginFailed).code == "bad_pin"
    k1.login(badge, "0000")  # fifth failure locks
    locked = expect(k1, ev.LoginFailed)
    assert locked.code == "locked" and locked.until
    k1.login(badge, "4321")  # even the right PIN is refused while locked
    assert expect(k1, ev.LoginFailed).code == "locked"


def test_new_badge_on_terminal_ends_previous_session(system) -> None:  # noqa: ANN001
    k1, k2 = system.link("kiosk-1"), system.link("kiosk-2")
    system.badge_in(k1, "Sophie Martin")
    first_sid = k1.sid
    system.badge_in(k1, "Karim Benali")
    assert k1.sid != first_sid
    # Sophie's messages now wait for her: nothing for her shows on kiosk-1.
    system.badge_in(k2, "Julie Moreau", pin="4321")
    msg = k2.send_text(system.employee("Sophie Martin"), "Pour Sophie")
    expect(k2, ev.StateChanged, lambda e: e.msg == msg and e.state in ("accepted", "held"))
    expect_none(k1, ev.MessageArrived)


def test_badge_in_elsewhere_logs_out_the_first_terminal(system) -> None:  # noqa: ANN001
    k1, k2 = system.link("kiosk-1"), system.link("kiosk-2")
    system.badge_in(k1, "Sophie Martin")
    system.badge_in(k2, "Sophie Martin")
    assert expect(k1, ev.LoggedOut).reason == "replaced"
    assert k1.sid is None and k2.sid is not None


def test_logout_then_messages_wait(system) -> None:  # noqa: ANN001
    k1, k2 = system.link("kiosk-1"), system.link("kiosk-2")
    system.badge_in(k1, "Karim Benali")
    system.badge_in(k2, "Sophie Martin")
    k1.logout()
    assert expect(k1, ev.LoggedOut).reason == "logout"
    msg = k2.send_text(system.employee("Karim Benali"), "Tu es parti ?")
    expect(k2, ev.StateChanged, lambda e: e.msg == msg and e.state == "accepted")
    expect_none(k1, ev.MessageArrived)
    system.badge_in(k1, "Karim Benali")
    assert expect(k1, ev.MessageArrived, lambda e: e.message["msg"] == msg)
