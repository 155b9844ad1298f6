"""``relais broker-auth``, ejabberd's extauth program (hr_console/cli/ejabberd.py), spoken to
over its pipes exactly as ejabberd does, on a real home: the database decides who logs in.
No ejabberd needed (tests/broker/test_ejabberd_cluster.py runs the real thing)."""

from __future__ import annotations

import dataclasses
import struct
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from broker_config.ejabberd import DOMAIN, EjabberdNode, new_cookie, render_config
from broker_config.ports import free_port
from hr_console import config as config_mod
from hr_console.cli.ejabberd import Checker, LoginWatch, relay_accounts, serve
from hr_console.cli.home import initialise
from hr_console.config import Settings
from hr_console.services import terminals
from hr_console.store.db import Store
from hr_console.store.models import Terminal


@dataclass
class Home:
    cfg: Settings
    store: Store
    passwords: dict[str, str]


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Home]:
    cfg = initialise(config_mod.load(tmp_path / "home", mqtt_port=free_port()))
    store = Store(cfg.database_url)
    passwords = {}
    with store.session() as s:
        for name in ("t1", "t2"):
            _row, creds = terminals.enrol(s, name, None, actor="test")
            passwords[name] = creds.password
    yield Home(cfg, store, passwords)
    store.dispose()


class ExtAuth:
    """The command as ejabberd runs it: 2-byte length, ``op:args``; answer length 2, 0 or 1."""

    def __init__(self, home: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hr_console.cli", "--home", str(home), "broker-auth"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def ask(self, request: str) -> bool:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        body = request.encode("utf-8")
        self.proc.stdin.write(struct.pack(">H", len(body)) + body)
        self.proc.stdin.flush()
        length, answer = struct.unpack(">HH", self.proc.stdout.read(4))
        assert length == 2 and answer in (0, 1)
        return answer == 1

    def close(self) -> tuple[int, bytes]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.close()
        rest = self.proc.stdout.read()
        return self.proc.wait(10), rest


def test_logins_are_decided_by_the_database(home: Home) -> None:
    relay = home.cfg.relay_account(1)
    relay_password = home.cfg.server_passwords[relay]
    t1 = home.passwords["t1"]
    auth = ExtAuth(home.cfg.home)
    try:
        assert auth.ask(f"auth:t1:{DOMAIN}:{t1}")
        assert auth.ask(f"auth:{relay.lower()}:{DOMAIN}:{relay_password}")
        assert not auth.ask(f"auth:t1:{DOMAIN}:{t1}x")
        assert not auth.ask(f"auth:t1:{DOMAIN}:{home.passwords['t2']}")
        assert not auth.ask(f"auth:t1:{DOMAIN}:")
        assert not auth.ask(f"auth:t1:elsewhere:{t1}")
        assert not auth.ask(f"auth:nobody:{DOMAIN}:{t1}")
        assert not auth.ask(f"auth:{relay}:{DOMAIN}:{relay_password}x")
        assert not auth.ask(f"auth:{home.cfg.relay_account(9)}:{DOMAIN}:{relay_password}")
        assert not auth.ask(f"auth:t1:{DOMAIN}:{t1}:extra")  # a ':' in the password is kept
        assert auth.ask(f"isuser:t1:{DOMAIN}") and auth.ask(f"isuser:{relay}:{DOMAIN}")
        assert not auth.ask(f"isuser:nobody:{DOMAIN}")
        # Accounts are Relais's to make and change: ejabberd may not.
        for op in (f"setpass:t1:{DOMAIN}:new", f"tryregister:t9:{DOMAIN}:pw",
                   f"removeuser:t1:{DOMAIN}", f"removeuser3:t1:{DOMAIN}:{t1}", "garbage", ""):
            assert not auth.ask(op), op
        assert auth.ask(f"auth:t1:{DOMAIN}:{t1}")  # still there after all that

        # Revoked in the database: refused at once, by the same running program.
        with home.store.session() as s:
            row = s.execute(select(Terminal).where(Terminal.name == "t1")).scalar_one()
            terminals.revoke(s, row, "test")
        assert not auth.ask(f"auth:t1:{DOMAIN}:{t1}")
        assert not auth.ask(f"isuser:t1:{DOMAIN}")
        assert auth.ask(f"auth:t2:{DOMAIN}:{home.passwords['t2']}")
    finally:
        code, rest = auth.close()
    assert code == 0 and rest == b""  # nothing but answers on stdout


def test_a_check_that_fails_is_a_refusal(home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    """A database that does not answer refuses logins; it never lets one through."""
    import io

    checker = Checker(home.cfg, DOMAIN)

    def broken() -> None:
        raise RuntimeError("database down")

    monkeypatch.setattr(checker, "_terminal_hash", lambda _user: broken())
    body = f"auth:t2:{DOMAIN}:{home.passwords['t2']}".encode()
    out = io.BytesIO()
    assert serve(checker, io.BytesIO(struct.pack(">H", len(body)) + body), out) == 1
    assert out.getvalue() == struct.pack(">HH", 2, 0)
    checker.store.dispose()


def test_the_rendered_config_keys_every_grant_on_the_username(home: Home, tmp_path: Path) -> None:
    node = EjabberdNode(name="relais-a@localhost", directory=tmp_path / "a", mqtt_port=18831,
                        epmd_port=4370, cookie=new_cookie(), extauth=("/usr/bin/relais", "broker-auth"),
                        relay_accounts=relay_accounts(home.cfg))
    text = render_config(node)
    assert node.cookie not in text
    for line in ('"relais/v1/t/%u/up": relais_terminal', '"relais/v1/t/%u/status": relais_terminal',
                 '"relais/v1/t/+/down/#": relais_relay', '"relais/v1/t/%u/down/#": relais_terminal',
                 '"relais/v1/t/+/up": relais_relay', '"relais/v1/t/+/status": relais_relay',
                 "auth_method: external", 'extauth_program: "/usr/bin/relais broker-auth"',
                 "auth_use_cache: false", 'ip: "127.0.0.1"', "port: 18831"):
        assert line in text, line
    assert [f'      - "{a}"' in text for a in relay_accounts(home.cfg)] == [True] * 8
    assert "tls: true" not in text and "certfiles" not in text
    tls = render_config(dataclasses.replace(node, tls_cert=Path("/h/tls/server.pem"),
                                            tls_key=Path("/h/tls/server.key"),
                                            tls_ca=Path("/h/tls/ca.pem")))
    assert "    tls: true\n" in tls
    assert 'certfiles:\n  - "/h/tls/server.pem"\n  - "/h/tls/server.key"\n  - "/h/tls/ca.pem"\n' in tls
    with pytest.raises(ValueError):  # ejabberd splits the program on spaces
        EjabberdNode(name="relais-a@localhost", directory=tmp_path, mqtt_port=1, epmd_port=2,
                     cookie=new_cookie(), extauth=("/opt/my relais/bin/relais",), relay_accounts=())
    with pytest.raises(ValueError):  # a relay account a terminal name could equal
        EjabberdNode(name="relais-a@localhost", directory=tmp_path, mqtt_port=1, epmd_port=2,
                     cookie=new_cookie(), extauth=("relais",), relay_accounts=("kiosk-1",))


def test_the_watch_names_terminals_that_lost_their_login(home: Home) -> None:
    """What ``relais ejabberd run`` kicks: revoked or re-keyed terminals, until closed."""
    watch = LoginWatch(home.store)
    assert watch.lost() == []
    with home.store.session() as s:
        t1 = s.execute(select(Terminal).where(Terminal.name == "t1")).scalar_one()
        t2 = s.execute(select(Terminal).where(Terminal.name == "t2")).scalar_one()
        terminals.revoke(s, t1, "test")
        terminals.rotate(s, t2, "test")
        terminals.enrol(s, "t3", None, actor="test")  # a new login loses nothing
    assert watch.lost() == ["t1", "t2"]
    watch.closed("t2")
    assert watch.lost() == ["t1"]  # not closed yet: asked again
    watch.closed("t1")
    assert watch.lost() == []
