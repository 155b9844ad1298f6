"""The relay reads settings, contact rules, terminals and people once per batch
(``store.db.open_batch_cache``): a change the console commits is seen by the next batch, on
SQLite and PostgreSQL, and never lingers past the transaction it was read in."""

from __future__ import annotations

from sqlalchemy import event

from hr_console.services import directory, people, settings
from hr_console.store.db import batch_cache, open_batch_cache
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
