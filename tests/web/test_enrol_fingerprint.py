"""The console hands the CA over with the code: next to a new terminal's one-time code, the
credentials page shows the SHA-256 fingerprint of the home's CA (``relais init --tls``)
and the one command to type on the terminal, which enrols it with nothing else copied."""

from __future__ import annotations

import html
import re
import shlex
from pathlib import Path

from babel.messages.pofile import read_po
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from hr_console.cli import main
from hr_console.web.terminals import routes as terminals_bp
from kiosk_app import config as kiosk_config
from tests.served import served
from tests.tls_front import init_tls, tls_front
from tests.web_fixture import make_console


def _openssl_style(pem_path: str) -> str:
    """What `openssl x509 -fingerprint -sha256 -noout` prints after "=" (computed apart)."""
    cert = x509.load_pem_x509_certificate(Path(pem_path).read_bytes())
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


def test_the_credentials_page_shows_the_ca_fingerprint_and_a_command_that_works(
        tmp_path: Path, db_url: str) -> None:
    console = init_tls(make_console(tmp_path, db_url))
    cfg = console.cfg
    expected = _openssl_style(cfg.tls_ca)
    with served(console.app) as url, tls_front(url, cfg.tls_cert, cfg.tls_key) as port:
        c = console.client("admin")
        resp = c.post("/terminals/new", data={"name": "atelier-nord", "site": "0"},
                      base_url=f"https://localhost:{port}", headers={"Accept-Language": "en"})
        assert resp.status_code == 200
        page = resp.get_data(as_text=True)
        assert re.search(r'id="ca-fingerprint">([0-9A-F:]+)<', page).group(1) == expected
        command = html.unescape(re.search(r'<pre id="enrol-command">(.*?)</pre>', page,
                                          re.S).group(1)).replace("\\\n", " ")
        args = shlex.split(command)
        assert args[:2] == ["relais", "kiosk-enrol"] and args[2] == f"https://localhost:{port}"
        out = tmp_path / "kiosk"
        args[args.index("--out") + 1] = str(out)
        result = CliRunner().invoke(main, args[1:])
        assert result.exit_code == 0, result.output
    kiosk = kiosk_config.load(out / "config.json")
    assert kiosk.terminal == "atelier-nord"
    assert Path(kiosk.tls_ca).read_bytes() == Path(cfg.tls_ca).read_bytes()


def test_no_fingerprint_without_a_ca(console) -> None:  # noqa: ANN001
    c = console.client("admin")
    resp = c.post("/terminals/new", data={"name": "quai-4", "site": "0"},
                  headers={"Accept-Language": "en"})
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    assert 'id="ca-fingerprint"' not in page and "--ca-fingerprint" not in page
    assert "relais kiosk-enrol http://localhost" in page


def test_the_new_words_are_in_french() -> None:
    """(The page in French needs the compiled catalogue, which the build makes.)"""
    po = Path(terminals_bp.__file__).parents[1] / "translations" / "fr" / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as fh:
        catalog = read_po(fh)
    template = (Path(terminals_bp.__file__).with_name("templates") / "terminals" /
                "credentials.html").read_text(encoding="utf-8")
    for msgid in re.findall(r'_\("((?:[^"\\]|\\.)*)"', template):
        message = catalog.get(msgid)
        assert message is not None and message.string, msgid
