"""Nothing typed is lost: link down, broker restarted, relay restarted, kiosk restarted."""

from __future__ import annotations

import threading
import time

from sqlalchemy import select

from hr_console.store.models import Message
from kiosk_app.link import events as ev
from tests.system_fixture import expect


def test_typed_while_broker_down_arrives_after_restart(system) -> None:  # noqa: ANN001
    k1, k2 = system.link("kiosk-1"), system.link("kiosk-2")
    system.badge_in(k1, "Sophie Martin")
    system.badge_in(k2, "Karim Benali")
    system.broker.stop()
    expect(k1, ev.LinkDown)
    karim = system.employee("Karim Benali")
    ids = [k1.send_text(karim, f"hors ligne {i}") for i in range(5)]
    assert k1.outbox.pending_count() == 5
    system.broker.start()
    expect(k1, ev.LinkUp, timeout=30)
    got = [expect(k2, ev.MessageArrived, timeout=30).message["msg"] for _ in ids]
    assert got == ids  # all of them, once, in the order typed
    for msg in ids:
        expect(k1, ev.StateChanged, lambda e, m=msg: e.msg == m and e.state == "delivered")
    assert k1.outbox.pending_count() == 0


def test_sent_while_relay_down_arrives_when_it_returns(system) -> None:  # noqa: ANN001
    k1, k2 = system.link("kiosk-1", resend_after=0.5), system.link("kiosk-2")
    system.badge_in(k1, "Sophie Martin")
    system.badge_in(k2, "Karim Benali")
    relay = system.relays.pop()
    relay.stop()
    msg = k1.send_text(system.employee("Karim Benali"), "Le relais dort")
    time.sleep(1.0)  # published to a broker with no relay: only the outbox still has it
    assert k1.outbox.pending_count() == 1
    system.start_relay()
    assert expect(k2, ev.MessageArrived, timeout=60).message["msg"] == msg


def test_kiosk_restart_resends_its_outbox(system, tmp_path) -> None:  # noqa: ANN001
    outbox = tmp_path / "k1-outbox.db"
    k1 = system.link("kiosk-1", outbox=outbox)
    k2 = system.link("kiosk-2")
    system.badge_in(k1, "Sophie Martin")
    system.badge_in(k2, "Karim Benali")
    sid = k1.sid
    system.broker.stop()  # the link drops: typing continues into the outbox
    expect(k1, ev.LinkDown)
    msg = k1.send_text(system.employee("Karim Benali"), "Écrit avant le redémarrage")
    k1.stop()  # the kiosk process goes away with the message unsent
    system.links.remove(k1)
    system.broker.start()
    again = system.link("kiosk-1", outbox=outbox)  # same terminal, same outbox file
    assert expect(k2, ev.MessageArrived, timeout=30).message["msg"] == msg
    with system.store.session() as s:
        row = s.execute(select(Message).where(Message.client_id == msg)).scalar_one()
        assert row.sender_id == system.employee("Sophie Martin")  # the session that typed it
    # The recipient's copy and the sender's answer go out together: which link reads its
    # own first is the machine's business (the restarted kiosk, badged out, shows nothing).
    deadline = time.monotonic() + 15
    while again.outbox.pending_count() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert again.outbox.pending_count() == 0
    assert sid  # the ended session still speaks for what it typed


def test_a_worker_round_that_fails_stops_nothing_else(system, monkeypatch) -> None:  # noqa: ANN001
    """A fault in one of the relay's worker rounds (here injected into the login desk's
    routing, which every uplink passes) is logged and gone past: the message that round
    held arrives once the kiosk sends it again, and later ones as usual. Before, the
    worker's thread ended and the relay, still connected, answered nothing more."""
    k1, k2 = system.link("kiosk-1", resend_after=0.5), system.link("kiosk-2")
    system.badge_in(k1, "Sophie Martin")
    system.badge_in(k2, "Karim Benali")
    relay = system.relays[0]
    route, failed = relay.logins.route, []

    def broken(terminal, item):  # noqa: ANN001, ANN202
        if not failed:
            failed.append(item)
            raise RuntimeError("injected fault")
        return route(terminal, item)

    monkeypatch.setattr(relay.logins, "route", broken)
    karim = system.employee("Karim Benali")
    first = k1.send_text(karim, "Pris dans la panne")
    assert expect(k2, ev.MessageArrived, timeout=30).message["msg"] == first
    assert failed and relay.counters.errors >= 1
    second = k1.send_text(karim, "Et le suivant")
    assert expect(k2, ev.MessageArrived, timeout=30).message["msg"] == second
    assert all(t.is_alive() for t in relay._threads)


def test_a_downlink_the_link_fails_on_leaves_it_listening(system, monkeypatch) -> None:  # noqa: ANN001
    """A fault while the kiosk's link handles one downlink is logged and gone past: paho's
    network thread goes on, the next message is read, and the one it failed on, never
    confirmed, is shown when the relay sends it again. Before, that thread ended and the
    kiosk, still shown online, read nothing more until restarted."""
    k1, k2 = system.link("kiosk-1"), system.link("kiosk-2")
    system.badge_in(k1, "Sophie Martin")
    system.badge_in(k2, "Karim Benali")
    dispatch, failed = k2._dispatch, []

    def broken(kind, env_id, body):  # noqa: ANN001, ANN202
        if kind == "text" and not failed:
            failed.append(body["msg"])
            raise RuntimeError("injected fault")
        return dispatch(kind, env_id, body)

    monkeypatch.setattr(k2, "_dispatch", broken)
    karim = system.employee("Karim Benali")
    lost_once = k1.send_text(karim, "Le premier fait tomber le lien")
    then = k1.send_text(karim, "Le second doit passer")
    got = [expect(k2, ev.MessageArrived, timeout=30).message["msg"] for _ in range(2)]
    assert failed == [lost_once]
    assert got == [then, lost_once]  # the failed one again, after the relay's resend
    assert k2.client._thread is not None and k2.client._thread.is_alive()


class _RacingLock:
    """The link's lock, which runs ``then`` once, in the test's thread, just after the
    next time that thread lets it go: a request made at that very moment."""

    def __init__(self, lock, then) -> None:  # noqa: ANN001
        self.lock, self.then, self.thread = lock, then, threading.get_ident()

    def __enter__(self):  # noqa: ANN204
        return self.lock.__enter__()

    def __exit__(self, *exc):  # noqa: ANN002, ANN204
        out = self.lock.__exit__(*exc)
        if self.then is not None and threading.get_ident() == self.thread:
            then, self.then = self.then, None
            then()
        return out


def test_a_login_asked_while_the_last_one_is_sent_again_is_the_one_kept(system) -> None:  # noqa: ANN001
    """The resend timer picks what is due under the link's lock and sends it after: a new
    login asked in between (the person badged again) must stay the one that is sent again,
    not be overwritten by the older one (it would never be sent again, and the person
    would wait in front of the terminal for nothing)."""
    system.relays.pop().stop()  # nobody answers: both logins stay asked
    k1 = system.link("kiosk-1")
    k1.login(system.demo.badges["Sophie Martin"])
    env, first, _last = k1._asked["login"]
    k1._asked["login"] = (env, first - 10, first - 10)  # due to be sent again
    newer: list[str] = []
    k1._lock = _RacingLock(k1._lock, lambda: newer.append(
        k1.login(system.demo.badges["Karim Benali"])))
    k1._ask_again()
    assert newer and k1._pending_login == newer[0]
    assert k1._asked["login"][0]["id"] == newer[0]


def test_a_link_stopped_while_it_sends_its_outbox_closes_it_after(system, monkeypatch) -> None:  # noqa: ANN001
    """A connection sends the whole outbox at once; a stop that comes meanwhile (the kiosk
    shut down right after the network came back) waits for that sending before it closes
    the outbox, instead of closing it under a thread that then reads a closed database
    (seen as an unhandled thread exception in CI)."""
    errors: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: errors.append(args.exc_value))
    k1 = system.link("kiosk-1", start=False)
    reading = threading.Event()
    due = k1.outbox.due

    def slow_due(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        reading.set()
        time.sleep(0.3)  # the outbox read a long queue takes on a slow terminal
        return due(*args, **kwargs)

    k1.outbox.due = slow_due
    k1.start()
    assert k1.wait_connected(10)
    assert reading.wait(5), "a connection sends the outbox"
    k1.stop()
    time.sleep(0.5)  # the longest a sending thread left behind would take to fail
    assert errors == []
    assert k1._timer is not None and not k1._timer.is_alive()


def test_an_event_the_kiosk_fails_on_is_logged_without_what_it_holds(system, caplog) -> None:  # noqa: ANN001
    """A kiosk's log stays on a shared terminal's disk: an event its screens fail on is
    named there by its kind, never with the person, contacts and history it carries (it
    was logged whole, a badge-in's sync with everyone's name in it)."""
    def broken(event: ev.Event) -> None:
        if isinstance(event, (ev.LoginOk, ev.Synced)):
            raise RuntimeError("injected fault")

    k1 = system.link("kiosk-1", on_event=broken)
    want = {"event handler failed on LoginOk", "event handler failed on Synced"}
    with caplog.at_level("ERROR", logger="relais"):
        system.badge_in(k1, "Sophie Martin")  # the handler runs just after the event is queued
        deadline = time.monotonic() + 10
        while {r.getMessage() for r in caplog.records} != want and time.monotonic() < deadline:
            time.sleep(0.05)
    assert {r.getMessage() for r in caplog.records if r.exc_info} == want
    text = caplog.text
    for name in ("Sophie", "Karim", "Martin"):
        assert name not in text
