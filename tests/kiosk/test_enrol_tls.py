"""``relais kiosk-enrol`` as the IT person runs it on a new terminal, against the console
served by waitress behind HTTPS with the certificate of ``relais init --tls``: each way it
can fail says its cause and its fix in one line and changes nothing; ``--ca-fingerprint``
fetches the site's CA and checks it, so no file is copied by hand; an impostor in the
middle learns no code; the kiosk API keeps its own CA whatever the environment says."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import update

from broker_config.ports import free_port
from broker_config.tls import make_local_ca
from hr_console.cli import main
from hr_console.services import directory, enrolment
from hr_console.store.models import Terminal, utcnow
from kiosk_app import config as kiosk_config
from kiosk_app.link.api import KioskApi, KioskApiError
from kiosk_app.link.media_cache import RemoteMedia
from kiosk_app.link.site_board import SiteBoard
from tests.served import served
from tests.tls_front import init_tls, tls_front
from tests.web_fixture import Console, make_console


@dataclass
class Site:
    console: Console
    http_url: str  # waitress itself (plain HTTP, loopback)
    https_port: int  # "nginx": TLS with HOME/tls/server.pem, made for the name localhost

    @property
    def url(self) -> str:
        return f"https://localhost:{self.https_port}"

    @property
    def fingerprint(self) -> str:
        value = enrolment.ca_fingerprint(self.console.cfg)
        assert value is not None
        return value

    def code(self, name: str) -> str:
        with self.console.session() as s:
            _, creds = directory.terminal(s, name, directory.site_by_name(s, "demo"))
        return creds.enrol_code


@pytest.fixture
def site(tmp_path: Path, db_url: str) -> Iterator[Site]:
    console = init_tls(make_console(tmp_path, db_url))
    cfg = console.cfg
    with served(console.app) as url, tls_front(url, cfg.tls_cert, cfg.tls_key) as port:
        yield Site(console, url, port)


def enrol(*args: str) -> Result:
    return CliRunner().invoke(main, ["kiosk-enrol", *args])


def refused(result: Result, *expected: str) -> str:
    """The command failed with one line holding every ``expected`` text."""
    assert result.exit_code == 1, result.output
    line = result.output.strip()
    assert "\n" not in line and line.startswith("Error: "), line
    for text in expected:
        assert text in line, line
    return line


def still_valid(site: Site, code: str, out: Path) -> None:
    """Nothing was written and the code still enrols the terminal (it was not spent)."""
    assert not (out / "config.json").exists()
    done = enrol(site.url, code, "--out", str(out), "--ca-fingerprint", site.fingerprint)
    assert done.exit_code == 0, done.output


def test_without_a_ca_it_says_the_certificate_is_not_trusted_and_what_to_give(
        site: Site, tmp_path: Path) -> None:
    code, out = site.code("atelier-nord"), tmp_path / "kiosk"
    line = refused(enrol(site.url, code, "--out", str(out)),
                   "not trusted by this terminal", "--ca-fingerprint", "--ca FILE")
    assert "SSLError" not in line
    still_valid(site, code, out)


def test_fingerprint_fetches_checks_and_keeps_the_ca(site: Site, tmp_path: Path) -> None:
    cfg = site.console.cfg
    out = tmp_path / "kiosk"
    typed = site.fingerprint.replace(":", " ").lower()  # as someone may type it
    result = enrol(site.url, site.code("atelier-nord"), "--out", str(out),
                   "--ca-fingerprint", typed)
    assert result.exit_code == 0, result.output
    kiosk = kiosk_config.load(out / "config.json")
    assert kiosk.tls_ca and Path(kiosk.tls_ca).read_text() == Path(cfg.tls_ca).read_text()
    assert kiosk.timezone == cfg.timezone == "Europe/Paris"
    with KioskApi(kiosk.api_url, kiosk.terminal, kiosk.password, ca_file=kiosk.tls_ca) as api:
        assert api.site_notices() == []


def test_a_wrong_fingerprint_refuses_and_spends_nothing(site: Site, tmp_path: Path) -> None:
    code, out = site.code("atelier-nord"), tmp_path / "kiosk"
    right = site.fingerprint
    wrong = ("00" if not right.startswith("00") else "11") + right[2:]
    refused(enrol(site.url, code, "--out", str(out), "--ca-fingerprint", wrong),
            "fingerprint " + right, "not the one given", "check the fingerprint you typed")
    refused(enrol(site.url, code, "--out", str(out), "--ca-fingerprint", "AB:CD"),
            "64 hexadecimal digits")
    refused(enrol(site.url, code, "--out", str(out), "--ca-fingerprint", right,
                  "--ca", site.console.cfg.tls_ca), "not both")
    still_valid(site, code, out)


def test_an_impostor_in_the_middle_reads_no_code(site: Site, tmp_path: Path) -> None:
    """Someone on the way answers with a certificate of their own CA for the right name
    and passes everything on to the real console (so the CA they hand over is the real
    one): the terminal refuses their certificate before it sends the code."""
    fake = make_local_ca(tmp_path / "impostor", ["localhost"])
    seen: list[bytes] = []
    code, out = site.code("atelier-nord"), tmp_path / "kiosk"
    with tls_front(site.http_url, str(fake.cert), str(fake.key), seen=seen) as port:
        line = refused(enrol(f"https://localhost:{port}", code, "--out", str(out),
                             "--ca-fingerprint", site.fingerprint), "not trusted")
    assert "nginx must use HOME/tls/server.pem" in line and "do not enrol" in line
    assert b"/enrol" not in b"".join(seen) and code.encode() not in b"".join(seen)
    still_valid(site, code, out)


def test_a_name_the_certificate_is_not_for(site: Site, tmp_path: Path) -> None:
    code, out = site.code("atelier-nord"), tmp_path / "kiosk"
    refused(enrol(f"https://127.0.0.1:{site.https_port}", code, "--out", str(out),
                  "--ca", site.console.cfg.tls_ca),
            "not valid for the name 127.0.0.1", "relais init --tls --tls-host 127.0.0.1")
    still_valid(site, code, out)


def test_another_ca_file(site: Site, tmp_path: Path) -> None:
    other = make_local_ca(tmp_path / "other", ["localhost"])
    code, out = site.code("atelier-nord"), tmp_path / "kiosk"
    refused(enrol(site.url, code, "--out", str(out), "--ca", str(other.ca_cert)),
            f"{other.ca_cert} is not the CA that signed it", "HOME/tls/ca.pem")
    still_valid(site, code, out)


def test_addresses_that_do_not_reach_the_console(site: Site, tmp_path: Path) -> None:
    code, out = site.code("atelier-nord"), tmp_path / "kiosk"
    port = free_port()
    refused(enrol(f"https://localhost:{port}", code, "--out", str(out)),
            f"nothing answers at localhost:{port}", "check the address and port")
    plain = site.http_url.replace("http://127.0.0.1", "https://localhost")
    refused(enrol(plain, code, "--out", str(out)), "answers in plain HTTP, not HTTPS",
            "give the address nginx serves over HTTPS")
    refused(enrol("https://relais.invalid", code, "--out", str(out)),
            "the name relais.invalid cannot be resolved", "IP address")
    refused(enrol(f"http://10.0.20.5:{port}", code, "--out", str(out)),
            "refusing to enrol over http://", "--ca-fingerprint")
    still_valid(site, code, out)


def test_codes_that_are_wrong_used_or_expired(site: Site, tmp_path: Path) -> None:
    out, pin = tmp_path / "kiosk", site.fingerprint
    code = site.code("atelier-nord")
    refused(enrol(site.url, "ZZZZ-ZZZZ-ZZZZ", "--out", str(out), "--ca-fingerprint", pin),
            "enrolment refused: This enrolment code is not valid or has already been used",
            "issue a new one")
    assert enrol(site.url, code, "--out", str(out), "--ca-fingerprint", pin).exit_code == 0
    refused(enrol(site.url, code, "--out", str(tmp_path / "again"), "--ca-fingerprint", pin),
            "not valid or has already been used")
    late = site.code("atelier-sud")
    with site.console.session() as s:
        s.execute(update(Terminal).where(Terminal.name == "atelier-sud")
                  .values(enrol_expires=utcnow() - dt.timedelta(minutes=1)))
    refused(enrol(site.url, late, "--out", str(tmp_path / "late"), "--ca-fingerprint", pin),
            "enrolment refused: This enrolment code has expired (a code is valid for 30 minutes)")
    assert not (tmp_path / "again").exists() and not (tmp_path / "late").exists()


def test_no_ca_to_hand_out(tmp_path: Path, db_url: str) -> None:
    """A console without `init --tls`: a fingerprint has nothing to match, said plainly."""
    console = make_console(tmp_path, db_url)
    with served(console.app) as url:
        with console.session() as s:
            _, creds = directory.terminal(s, "atelier-nord", directory.site_by_name(s, "demo"))
        refused(enrol(url, creds.enrol_code, "--out", str(tmp_path / "k"), "--ca-fingerprint",
                      "AB" * 32), "hands out no CA", "enrol without --ca-fingerprint")


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
def test_the_kiosk_api_keeps_its_own_ca_whatever_the_environment_says(
        site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    out = tmp_path / "kiosk"
    assert enrol(site.url, site.code("atelier-nord"), "--out", str(out),
                 "--ca", site.console.cfg.tls_ca).exit_code == 0
    kiosk = kiosk_config.load(out / "config.json")
    other = make_local_ca(tmp_path / "other", ["localhost"])
    monkeypatch.setenv(variable, str(other.ca_cert))  # e.g. left by an image's proxy setup
    with KioskApi(kiosk.api_url, kiosk.terminal, kiosk.password, ca_file=kiosk.tls_ca) as api:
        assert api.site_notices() == []
    board = SiteBoard.from_config(kiosk)
    media = RemoteMedia.from_config(kiosk)
    assert board is not None and media is not None
    try:
        assert board.fetch().notices == []  # the board (notices, alert flag) came over TLS
        with pytest.raises(KioskApiError) as err:  # reached the console: refused, not SSL
            media.get("message", "no-such-session", "no-such-photo")
        assert err.value.code == "unauthorised"
    finally:
        board.close()
        media.close()
