"""Finding by name someone a cut contact list left out (kiosk API ``/contacts``).

A sync lists at most what one packet holds: the HR desk of a company of 16,000 gets about
11,000 of them (relay.sync_fit) and finds the others by name. The search gives back the
very entries of ``people.contact_list`` whose name holds the words typed, and nobody else,
on SQLite and PostgreSQL, through the real console app."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hr_console.services import directory, people
from hr_console.store.models import search_key
from hr_console.web.extensions import limiter
from relais_wire import limits
from tests.web.test_kiosk_api import API, _assert_unauthorised, _auth, _badge_in
from tests.web_fixture import make_console

# Names as a French site has them, some sharing parts, accents in both places.
FIRST = ("Élodie", "Karim", "Lucas", "Amina", "Zoé", "Chloé", "Inès", "Gaëlle", "Émile",
         "Ursule", "Noël", "Jean-Luc")
LAST = ("Martin", "Benali", "Lefèvre", "Dubois", "N'Diaye", "Müller", "Garçon", "Leroy")
HIRED = 120  # more than a search shows (people.FOUND_SHOWN)


def _hire(console: Any) -> list[str]:
    """A team "Expédition" of ``HIRED`` whom only the HR desk's rule reaches (everyone may
    write to her, and she may answer): Karim, of Atelier, may write to none of them."""
    names = []
    with console.session() as s:
        site = directory.site_by_name(s, "demo")
        team = directory.team(s, "Expédition", site)
        for i in range(HIRED):
            name = f"{FIRST[i % len(FIRST)]} {LAST[(i * 5) % len(LAST)]} {i:03d}"
            directory.employee(s, name, pepper=console.cfg.badge_pepper, team_row=team)
            names.append(name)
    return names


def _find(console: Any, sid: str, q: str, terminal: str = "kiosk-1") -> Any:
    return console.client().get(f"{API}/contacts", query_string={"q": q},
                                headers=_auth(console, terminal, sid))


def _desk(console: Any) -> int:
    return console.demo.employees["Claire Dubois (RH)"]


def test_the_hr_desk_finds_by_name_whom_she_may_answer(console: Any) -> None:
    names = _hire(console)
    sid = _badge_in(console, "kiosk-1", "Claire Dubois (RH)")
    with console.session() as s:
        listed = people.contact_list(s, _desk(console))

    resp = _find(console, sid, "elodie")  # no accent typed: Élodie is found
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    expected = [c for c in listed if "elodie" in search_key(c["name"])]
    assert body["total"] == len(expected) == sum("Élodie" in n for n in names)
    assert body["contacts"] == expected  # as the sync gives them, by name
    assert all(c["team"] == "Expédition" and c["hr"] is False for c in body["contacts"])

    # More than a screen's worth: the first FOUND_SHOWN by name, and how many in all.
    body = _find(console, sid, "ar").get_json()  # Martin, Karim, Garçon, ...
    matching = [c for c in listed if "ar" in search_key(c["name"])]
    assert body["total"] == len(matching) > people.FOUND_SHOWN
    assert body["contacts"] == matching[:people.FOUND_SHOWN]

    # Case, accents and the characters of SQL's LIKE are only characters.
    assert _find(console, sid, "  LEFÈVRE ").get_json()["contacts"] == \
        [c for c in listed if "lefevre" in search_key(c["name"])][:people.FOUND_SHOWN]
    assert _find(console, sid, "n'diaye 0").get_json()["total"] == \
        sum("n'diaye 0" in search_key(c["name"]) for c in listed) > 0
    for wild in ("%%", "__", "\\\\", "%0%", "a%", "_0"):
        assert _find(console, sid, wild).get_json() == {"contacts": [], "total": 0}, wild
    assert _find(console, sid, "nobody by that name").get_json() == {"contacts": [], "total": 0}


def test_a_worker_finds_only_whom_the_rules_let_him_write_to(console: Any) -> None:
    _hire(console)
    sid = _badge_in(console, "kiosk-1", "Karim Benali")
    with console.session() as s:
        listed = people.contact_list(s, console.demo.employees["Karim Benali"])
    assert not [c for c in listed if c["team"] == "Expédition"]
    # Expédition's Karim Benali 013 and co. are not his to write to; nor is Logistique.
    body = _find(console, sid, "karim").get_json()
    assert body == {"contacts": [], "total": 0}
    assert _find(console, sid, "Thomas").get_json() == {"contacts": [], "total": 0}
    # Whom he may write to, he finds: his lead, the HR desk.
    assert [c["name"] for c in _find(console, sid, "sophie").get_json()["contacts"]] == \
        ["Sophie Martin"]
    desk = _find(console, sid, "rh").get_json()["contacts"]
    assert desk == [c for c in listed if "rh" in search_key(c["name"])]
    assert [c["name"] for c in desk if c["hr"]] == ["Claire Dubois (RH)"]
    # Never himself.
    assert _find(console, sid, "benali").get_json() == {"contacts": [], "total": 0}


def test_a_search_needs_a_badge_session_and_a_sensible_name(console: Any) -> None:
    _hire(console)
    sid = _badge_in(console, "kiosk-1", "Claire Dubois (RH)")
    # Without the session, with another terminal's password, with a session of another
    # terminal: the same 401, nothing named.
    _assert_unauthorised(_find(console, None, "elodie"))
    _assert_unauthorised(_find(console, sid, "elodie", terminal="kiosk-2"))
    other = _badge_in(console, "kiosk-2", "Karim Benali")
    _assert_unauthorised(_find(console, other, "elodie"))
    # Nothing, one letter, a lone accent (folded: nothing, which would match everyone),
    # more than a name.
    for q in ("", "   ", "e", " é ", "\u0301", "\u0301\u0301", "x" * (limits.MAX_FIND_CHARS + 1)):
        resp = _find(console, sid, q)
        assert resp.status_code == 400, q
        assert resp.get_json()["code"] == "bad_request" and resp.get_json()["field"] == "q"
    assert _find(console, sid, "e" * limits.MAX_FIND_CHARS).status_code == 200
    assert _find(console, sid, "ee").status_code == 200


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(q=st.text(alphabet="aeéilonrtuxLMÉ'-0123 %_\u0301æı", min_size=1, max_size=6))
def test_a_search_is_the_contact_list_filtered(console: Any, q: str) -> None:
    """Whatever is typed: the entries of the contact list whose folded name holds the
    folded words, in the list's order, the first FOUND_SHOWN of them, and their count."""
    with console.session() as s:
        hired = people.find_contacts(s, _desk(console), "00")[1]
    if not hired:
        _hire(console)  # once: the examples share the console
    with console.session() as s:
        listed = people.contact_list(s, _desk(console))
        found, total = people.find_contacts(s, _desk(console), q)
    words = search_key(q.strip())
    expected = [c for c in listed if words in search_key(c["name"])] \
        if len(words) >= limits.MIN_FIND_CHARS else []
    assert total == len(expected)
    assert found == expected[:people.FOUND_SHOWN]


def test_letters_a_keyboard_lacks_are_found_as_typed(console: Any) -> None:
    """æ, œ, ø, ł, ı have no accent to take off: they are spelt as one types them without
    those keys (the kiosk's French keyboard has none of them)."""
    with console.session() as s:
        team = directory.team(s, "Expédition", directory.site_by_name(s, "demo"))
        for name in ("Lætitia Yıldız", "Œdipe Ørsted", "Łukasz Đorđević"):
            directory.employee(s, name, pepper=console.cfg.badge_pepper, team_row=team)
    sid = _badge_in(console, "kiosk-1", "Claire Dubois (RH)")
    for typed, name in (("laetitia", "Lætitia Yıldız"), ("YILDIZ", "Lætitia Yıldız"),
                        ("lætitia", "Lætitia Yıldız"), ("oedipe", "Œdipe Ørsted"),
                        ("orsted", "Œdipe Ørsted"), ("lukasz dordevic", "Łukasz Đorđević")):
        found = _find(console, sid, typed).get_json()["contacts"]
        assert [c["name"] for c in found] == [name], typed


def test_searches_are_bounded_per_terminal(tmp_path: Any, db_url: str) -> None:
    """Each of the HR desk's searches walks her contacts: twenty in ten seconds per
    terminal, within the kiosk API's calls; the next is answered 429 and names nobody."""
    limited = make_console(tmp_path, db_url, RATELIMIT_ENABLED=True)
    try:
        limiter.reset()
        sid = _badge_in(limited, "kiosk-1", "Claire Dubois (RH)")
        for _ in range(20):
            assert _find(limited, sid, "sophie").status_code == 200
        resp = _find(limited, sid, "sophie")
        assert resp.status_code == 429 and resp.get_json()["code"] == "rate_limited"
        assert "contacts" not in resp.get_json()
        other = _badge_in(limited, "kiosk-2", "Karim Benali")  # another terminal: its own
        assert _find(limited, other, "sophie", terminal="kiosk-2").status_code == 200
        notices = limited.client().get(f"{API}/notices", headers=_auth(limited, "kiosk-1", sid))
        assert notices.status_code == 200  # the terminal's other calls go on
    finally:
        limiter.reset()
        limited.app.extensions["relais_store"].dispose()
