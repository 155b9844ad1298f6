"""The relay reads settings, contact rules, terminals and people once per batch
(``store.db.open_batch_cache``), and keeps people, rules and settings for the next batches
while the policy epoch stays the same (``services.remembered``): a change the console
commits is seen by the next batch, on SQLite and PostgreSQL, and never lingers past the
transaction it was read in."""

from __future__ import annotations

from sqlalchemy import event, select, text

from hr_console.services import directory, messaging, people, remembered, settings
from hr_console.services.remembered import Remembered
from hr_console.store.db import batch_cache, open_batch_cache
from hr_console.store.models import Employee, PolicyEpoch
from kiosk_app.link import events as ev
from tests.system_fixture import expect


def _state(link, msg_id, state):  # noqa: ANN001
    return expect(link, ev.StateChanged, lambda e: e.msg == msg_id and e.state == state)


def test_console_setting_change_is_seen_by_the_next_message(system) -> None:  # noqa: ANN001
    k1 = system.link("kiosk-1")
    system.badge_in(k1, "Sophie Martin")  # unmoderated: her messages are accepted
    karim = system.employee("Karim Benali")
    _state(k1, k1.send_text(karim, "zorglub avant"), "accepted")

    with system.store.session() as s:  # the console, in its own transaction
        settings.put(s, "keywords", ["zorglub"])
    _state(k1, k1.send_text(karim, "zorglub pendant"), "held")

    with system.store.session() as s:
        settings.put(s, "keywords", [])
    _state(k1, k1.send_text(karim, "zorglub après"), "accepted")


def test_console_rule_change_is_seen_by_the_next_message(system) -> None:  # noqa: ANN001
    k1 = system.link("kiosk-1")
    system.badge_in(k1, "Sophie Martin")
    thomas = system.employee("Thomas Petit")
    refused = _state(k1, k1.send_text(thomas, "avant la règle"), "refused")
    assert refused.reason == "not_allowed"
    with system.store.session() as s:
        directory.contact_rule(s, "person", system.employee("Sophie Martin"), "person", thomas)
    _state(k1, k1.send_text(thomas, "après la règle"), "accepted")


def _count_queries(store, session) -> list[str]:  # noqa: ANN001
    """Statements of this session only (the fixture's relay shares the engine)."""
    seen: list[str] = []
    mine = session.connection()
    event.listen(store.engine, "before_cursor_execute",
                 lambda conn, _cur, stmt, *_a: seen.append(stmt) if conn is mine else None)
    return seen


def test_read_once_per_batch_and_fresh_in_the_next(system) -> None:  # noqa: ANN001
    store = system.store
    sophie, karim = system.employee("Sophie Martin"), system.employee("Karim Benali")
    with store.session() as s:
        open_batch_cache(s)
        seen = _count_queries(store, s)
        assert settings.get(s, "media_always_held") is False
        for _ in range(5):
            settings.get(s, "keywords")
            settings.get(s, "default_moderation")
            assert people.check(s, sophie, karim) is None
        assert sum("settings" in q for q in seen) == 1
        assert sum("contact_rules" in q for q in seen) == 1
        assert sum("FROM employees" in q for q in seen) == 1
        settings.put(s, "media_always_held", True)  # a write in the batch is read back
        assert settings.get(s, "media_always_held") is True
    with store.session() as s:  # the console meanwhile
        settings.put(s, "media_always_held", False)
    with store.session() as s:  # the next batch
        open_batch_cache(s)
        assert settings.get(s, "media_always_held") is False


def test_cache_ends_with_its_transaction(system) -> None:  # noqa: ANN001
    with system.store.session() as s:
        open_batch_cache(s)
        settings.get(s, "keywords")
        assert batch_cache(s) is not None
        s.commit()
        settings.get(s, "keywords")  # a new transaction: not from the old one's cache
        assert batch_cache(s) is None
    with system.store.session() as s:  # the console never opens one
        assert batch_cache(s) is None


def _console(system, change) -> None:  # noqa: ANN001
    """``change(session)`` committed as the console does, in its own transaction."""
    with system.store.session() as s:
        change(s)


def _employee(s, system, name):  # noqa: ANN001, ANN202
    return s.get(Employee, system.employee(name))


def test_what_the_relay_remembers_follows_every_console_change(system) -> None:  # noqa: ANN001
    """The relay keeps people, rules and settings from one batch to the next
    (``services.remembered``): each console change below is applied to the very next
    message all the same, on SQLite and PostgreSQL."""
    k1, k2 = system.link("kiosk-1"), system.link("kiosk-2")
    system.badge_in(k1, "Sophie Martin")  # a team lead, unmoderated
    system.badge_in(k2, "Karim Benali")
    karim, thomas = system.employee("Karim Benali"), system.employee("Thomas Petit")

    def arrived_from(text: str) -> str:
        return expect(k2, ev.MessageArrived, lambda e: e.message.get("text") == text
                      ).message["from_name"]

    for n in range(3):  # remembered from the second on
        _state(k1, k1.send_text(karim, f"bonjour {n}"), "accepted")
        assert arrived_from(f"bonjour {n}") == "Sophie Martin"

    _console(system, lambda s: setattr(_employee(s, system, "Sophie Martin"),
                                       "moderation_mode", "pre"))
    _state(k1, k1.send_text(karim, "relue avant"), "held")
    _console(system, lambda s: setattr(_employee(s, system, "Sophie Martin"),
                                       "moderation_mode", None))
    _console(system, lambda s: setattr(_employee(s, system, "Sophie Martin").team,
                                       "moderation_mode", "pre"))
    _state(k1, k1.send_text(karim, "relue par l'équipe"), "held")
    _console(system, lambda s: setattr(_employee(s, system, "Sophie Martin").team,
                                       "moderation_mode", "none"))
    _state(k1, k1.send_text(karim, "plus relue"), "accepted")

    _console(system, lambda s: setattr(_employee(s, system, "Sophie Martin"),
                                       "name", "Sophie Martin-Roux"))
    _state(k1, k1.send_text(karim, "nouveau nom"), "accepted")
    assert arrived_from("nouveau nom") == "Sophie Martin-Roux"

    _console(system, lambda s: setattr(_employee(s, system, "Karim Benali"), "active", False))
    assert _state(k1, k1.send_text(karim, "parti"), "refused").reason is not None
    _console(system, lambda s: setattr(_employee(s, system, "Karim Benali"), "active", True))
    _state(k1, k1.send_text(karim, "revenu"), "accepted")

    assert _state(k1, k1.send_text(thomas, "autre équipe"), "refused").reason == "not_allowed"
    _console(system, lambda s: setattr(_employee(s, system, "Sophie Martin"), "team_id",
                                       _employee(s, system, "Thomas Petit").team_id))
    # Logistique's own rule lets it go; her new team's moderation (the default) holds it
    _state(k1, k1.send_text(thomas, "même équipe"), "held")

    assert _state(k2, k2.send_text(thomas, "au chef d'à côté"), "refused").reason == "not_allowed"
    _console(system, lambda s: setattr(_employee(s, system, "Karim Benali").team,
                                       "supervisor_id", thomas))
    # Atelier's rule to its supervisor now reaches Thomas (Atelier unmoderated since above)
    _state(k2, k2.send_text(thomas, "au nouveau chef"), "accepted")


def test_the_relay_reads_rules_again_only_after_a_change(system) -> None:  # noqa: ANN001
    """Through the relay itself: its batches at the same epoch read no contact rule, and
    the first batch after a console change does."""
    k1, k2 = system.link("kiosk-1"), system.link("kiosk-2")
    system.badge_in(k1, "Sophie Martin")
    system.badge_in(k2, "Karim Benali")
    karim = system.employee("Karim Benali")
    seen: list[str] = []
    event.listen(system.store.engine, "before_cursor_execute",
                 lambda _conn, _cur, stmt, *_a: seen.append(stmt))
    _state(k1, k1.send_text(karim, "une"), "accepted")
    seen.clear()
    for n in range(3):
        _state(k1, k1.send_text(karim, f"encore {n}"), "accepted")
    assert not [q for q in seen if "contact_rules" in q]
    with system.store.session() as s:
        directory.contact_rule(s, "person", karim, "person", system.employee("Thomas Petit"))
    seen.clear()
    _state(k1, k1.send_text(karim, "après"), "accepted")
    assert [q for q in seen if "contact_rules" in q]


def test_a_failed_batch_forgets_what_it_read(system, monkeypatch) -> None:  # noqa: ANN001
    """A batch rolled back may have read its own writes: the relay forgets everything, and
    the message still goes (the kiosk sends it again)."""
    relay = system.relays[0]
    k1 = system.link("kiosk-1")
    system.badge_in(k1, "Sophie Martin")
    karim = system.employee("Karim Benali")
    _state(k1, k1.send_text(karim, "avant"), "accepted")
    assert relay._memory.people  # remembered
    forgot, forget_now, flush, failed = [], Remembered.forget, messaging.Batch.flush, []

    def forget(self) -> None:  # noqa: ANN001
        forgot.append(self)
        forget_now(self)

    def flush_once(self) -> None:  # noqa: ANN001
        if not failed:
            failed.append(True)
            raise RuntimeError("the database broke mid-batch")
        flush(self)

    monkeypatch.setattr(Remembered, "forget", forget)
    monkeypatch.setattr(messaging.Batch, "flush", flush_once)
    _state(k1, k1.send_text(karim, "pendant"), "accepted")
    assert failed and relay._memory in forgot


def test_a_relay_without_the_triggers_remembers_nothing(system) -> None:  # noqa: ANN001
    with system.store.session() as s:
        s.execute(text("DROP TRIGGER policy_epoch_contact_rules_delete" if system.store.is_sqlite
                       else "ALTER TABLE contact_rules DISABLE TRIGGER policy_epoch_truncate"))
    relay = system.start_relay(2)
    assert relay._memory is None and relay._lane_memory is None
    assert system.relays[0]._memory is not None  # started before, with them in place


def test_a_batch_at_the_same_epoch_reads_no_people_nor_rules(system) -> None:  # noqa: ANN001
    """What a relay's batch remembers serves the next batches until the console changes
    something, and only batches that read the epoch use it."""
    store = system.store
    sophie, karim = system.employee("Sophie Martin"), system.employee("Karim Benali")
    kept = Remembered()

    def batch(*, armed: bool = True) -> list[str]:
        with store.session() as s:
            open_batch_cache(s, kept)
            if armed:
                remembered.arm(s, s.execute(select(PolicyEpoch.n)).scalar())
            seen = _count_queries(store, s)
            assert people.check(s, sophie, karim) is None
            assert people.profile(s, sophie).name == "Sophie Martin"
            return [q for q in seen if "FROM employees" in q or "contact_rules" in q
                    or "FROM teams" in q]

    assert len(batch()) == 2  # people, their rules
    assert batch() == []
    assert len(batch(armed=False)) == 2  # no epoch read: read as before
    with store.session() as s:
        directory.contact_rule(s, "person", sophie, "person", karim)
    assert len(batch()) == 2
    assert batch() == []
