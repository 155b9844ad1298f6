"""Admin commands run as root on a home that belongs to the service account (how
docs/deploy.md has them typed): they work as that account, leave nothing it cannot read, the
broker it runs takes what they changed, and a broker that does not take it is one line and a
non-zero exit. Each command is the real CLI in its own process: dropping root is for good."""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from broker_config.passwords import hash_password
from broker_config.ports import free_port
from hr_console.config import load
from hr_console.services import demo
from relais_wire import topics
from tests.mosquitto_clients import pub

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("useradd") is None or shutil.which("runuser") is None,
    reason="needs root, useradd and runuser")

REPO = Path(__file__).resolve().parents[2]


def _world_runnable(path: Path) -> bool:
    """Every directory up to ``path`` may be crossed by any account."""
    return all(p.stat().st_mode & stat.S_IXOTH for p in path.parents)


def _python_for_everyone() -> str:
    """An interpreter the service account can run: the venv's may live under /root (pyenv);
    then the system's of the same minor version, given the venv's packages on PYTHONPATH."""
    real = Path(os.path.realpath(sys.executable))
    if _world_runnable(real):
        return sys.executable
    system = Path(f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}")
    if not system.exists():
        pytest.skip(f"no interpreter an unprivileged account can run ({real} is private)")
    return str(system)


PYTHON = _python_for_everyone()
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(
    [*(p for p in sys.path if p.endswith("site-packages")), str(REPO)])}


def relais(home: Path, *args: str, user: str | None = None) -> subprocess.CompletedProcess[str]:
    """The real command, as root or (``user``) as another account."""
    cmd = [PYTHON, "-m", "hr_console.cli", "--home", str(home), *args]
    if user is not None:
        cmd = ["runuser", "-u", user, "--", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=ENV, cwd="/")


@pytest.fixture
def make_user() -> Iterator[Callable[[], str]]:
    """Fresh unprivileged system accounts, removed afterwards."""
    made: list[str] = []

    def make() -> str:
        name = f"relais-test-{secrets.token_hex(4)}"
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                        name], check=True, capture_output=True)
        made.append(name)
        return name

    yield make
    for name in made:
        subprocess.run(["userdel", name], capture_output=True)


@pytest.fixture
def owner(make_user: Callable[[], str]) -> str:
    return make_user()


@pytest.fixture
def home(owner: str, db_url: str) -> Iterator[Path]:
    """An empty home made for the service account (``install -d -o relais``), initialised
    by root. Outside pytest's private temporary tree, which that account cannot cross."""
    path = Path(tempfile.mkdtemp(prefix="relais-owned-", dir="/tmp"))
    entry = pwd.getpwnam(owner)
    os.chown(path, entry.pw_uid, entry.pw_gid)
    flags = ["--db-url", db_url] if db_url.startswith("postgresql") else []
    result = relais(path, *flags, "--mqtt-port", str(free_port()), "init")
    assert result.returncode == 0, result.stderr
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def running_broker(home: Path, owner: str) -> Iterator[subprocess.Popen[str]]:
    """``relais broker`` as the service account (its unit's ExecStart)."""
    proc = subprocess.Popen(
        ["runuser", "-u", owner, "--", PYTHON, "-m", "hr_console.cli", "--home", str(home),
         "broker"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=ENV, cwd="/")
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert first.startswith("broker: terminals on"), first + proc.stdout.read()
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


def _strangers(home: Path, uid: int) -> list[str]:
    found = [] if home.lstat().st_uid == uid else [str(home)]
    for root, dirs, files in os.walk(home):
        found += [str(Path(root) / n) for n in dirs + files if (Path(root) / n).lstat().st_uid != uid]
    return found


def _connects(home: Path, creds: dict[str, str]) -> bool:
    cfg = load(home)
    name = creds["username"]
    return pub(cfg.mqtt_port, name, creds["password"], topics.uplink(name)).returncode == 0


def test_root_commands_leave_the_home_to_its_owner_and_the_broker_takes_them(
        home: Path, owner: str, running_broker: subprocess.Popen[str]) -> None:
    uid = pwd.getpwnam(owner).pw_uid
    assert relais(home, "demo-data", "--password", "Demo-password-123").returncode == 0

    added = relais(home, "terminal", "add", "atelier-nord", "--site", demo.SITE_NAME)
    assert added.returncode == 0, added.stderr
    creds = json.loads(added.stdout.strip().splitlines()[-1])
    # The broker, running as the owner, reloaded and admits the new terminal at once.
    assert _connects(home, creds)

    for args in (["user", "add", "rh-nord", "--role", "hr", "--password", "Long-password-42"],
                 ["broker-config"], ["init"], ["terminal", "rotate", "atelier-nord"]):
        result = relais(home, *args)
        assert result.returncode == 0, (args, result.stderr)

    assert _strangers(home, uid) == []
    conf = (load(home).broker_dir / "mosquitto.conf").read_text().splitlines()
    assert f"user {owner}" in conf and "user root" not in conf
    assert running_broker.poll() is None


def test_root_gives_back_what_an_earlier_version_left_as_root(
        home: Path, owner: str, tmp_path: Path) -> None:
    """A home already broken by a root run (root-owned 0600 broker files and kiosks/) is
    repaired by the next command instead of staying unreadable for the services; links the
    owner planted there never make root give away a file outside the home."""
    (home / "kiosks").mkdir()
    for path in (home / "kiosks", load(home).broker_dir / "passwd"):
        os.chown(path, 0, 0)
    outside = [tmp_path / "shadow-a", tmp_path / "shadow-b"]
    for path in outside:
        path.write_text("root's\n")
    (home / "kiosks" / "evil-symlink").symlink_to(outside[0])
    os.link(outside[1], home / "evil-hardlink")
    os.symlink(tmp_path, home / "evil-dir")

    result = relais(home, "demo-data", "--password", "Demo-password-123")
    assert result.returncode == 0, result.stderr
    planted = {str(home / "kiosks" / "evil-symlink"), str(home / "evil-hardlink"),
               str(home / "evil-dir")}
    assert set(_strangers(home, pwd.getpwnam(owner).pw_uid)) == planted
    assert all(path.stat().st_uid == 0 for path in [*outside, tmp_path])


def test_another_account_is_refused_in_one_line_and_nothing_changes(
        home: Path, owner: str, make_user: Callable[[], str]) -> None:
    passwd = load(home).broker_dir / "passwd"
    before = passwd.read_bytes()
    result = relais(home, "terminal", "add", "intrus", "--site", demo.SITE_NAME, user=make_user())
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"belongs to {owner}" in lines[0], result.stderr
    assert passwd.read_bytes() == before


def test_a_reload_the_broker_does_not_take_fails_in_one_line(
        home: Path, running_broker: subprocess.Popen[str]) -> None:
    """An entry Mosquitto refuses (a hash whose salt is not 12 bytes: our format check lets
    it through, the broker drops it and logs an error) makes the command fail, in one line."""
    from sqlalchemy import update

    from hr_console.store.db import Store
    from hr_console.store.models import Terminal

    assert relais(home, "demo-data", "--password", "Demo-password-123").returncode == 0
    store = Store(load(home).database_url)
    try:
        with store.session() as s:
            s.execute(update(Terminal).where(Terminal.name == "kiosk-1")
                      .values(password_hash=hash_password("x", salt=b"s" * 16)))
    finally:
        store.dispose()

    result = relais(home, "terminal", "add", "atelier-sud", "--site", demo.SITE_NAME)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "did not take" in lines[0] and "kiosk-1" in lines[0], lines[0]
    assert running_broker.poll() is None
