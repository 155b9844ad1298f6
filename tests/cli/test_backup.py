"""`relais backup` and `relais restore` as an admin runs them: a running site is backed up
(umask 022, the relay writing), restored into a fresh home in another directory, and is the
same site there: same messages and photos, an intact audit chain, the same console logins,
private files, TLS paths that follow the home."""

from __future__ import annotations

import io
import os
import re
import shutil
import stat
import subprocess
import tarfile
import tomllib
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, select

from broker_config.ports import free_port
from broker_config.process import BrokerProcess
from hr_console import config as config_mod
from hr_console.services import broker as broker_svc
from hr_console.store.models import AuditEntry, Media, Message
from kiosk_app.link import events as ev
from tests.cli.test_up import _read_until, _stop
from tests.security.test_file_modes import EXE, _env, _loose_umask, _readable_by_others
from tests.system_fixture import DEMO_PASSWORD, expect
from tests.web.console_data import jpeg


def relais(home: Path, *args: str, env: dict[str, str] | None = None,
           ) -> subprocess.CompletedProcess[str]:
    """One `relais` command in its own process, under the usual 022 umask."""
    return subprocess.run([*EXE, "--home", str(home), *args], capture_output=True, text=True,
                          timeout=120, env={**_env(), **(env or {})}, preexec_fn=_loose_umask)


def _one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode != 0, done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), done.stderr
    return lines[0]


def _rows(url: str) -> tuple[list[tuple], list[tuple]]:
    """Messages (with their photo's bytes) and audit entries, as stored."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            messages = conn.execute(
                select(Message.id, Message.client_id, Message.body, Message.state, Media.data)
                .outerjoin(Media, Media.id == Message.media_id).order_by(Message.id)).all()
            audit = conn.execute(select(AuditEntry.id, AuditEntry.action, AuditEntry.hash)
                                 .order_by(AuditEntry.id)).all()
    finally:
        engine.dispose()
    return [tuple(r) for r in messages], [tuple(r) for r in audit]


def _sign_in(base: str, username: str, password: str) -> requests.Session:
    web = requests.Session()
    page = web.get(f"{base}/auth/login", timeout=10).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert token, "no CSRF token on the sign-in page"
    resp = web.post(f"{base}/auth/login", timeout=10, allow_redirects=False,
                    data={"username": username, "password": password, "csrf_token": token[1]})
    assert resp.status_code == 302 and "/auth/login" not in resp.headers["Location"], resp.text
    return web


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_running_site_restored_elsewhere_is_the_same_site(system, tmp_path: Path) -> None:  # noqa: ANN001
    k1 = system.link("kiosk-1")
    system.badge_in(k1, "Sophie Martin")
    karim = system.employee("Karim Benali")
    for msg in (k1.send_text(karim, "avant la sauvegarde"), k1.send_photo(karim, jpeg(), "palette")):
        expect(k1, ev.StateChanged, lambda e, m=msg: e.msg == m and e.state == "accepted")
    before = _rows(system.cfg.database_url)
    assert len(before[0]) >= 2 and any(row[4] for row in before[0])  # a photo among them

    (tmp_path / "backups").mkdir(mode=0o755)
    archive = tmp_path / "backups" / "relais.tar.gz"
    done = relais(system.cfg.home, "backup", str(archive))  # broker and relay running
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    assert [p.name for p in archive.parent.iterdir()] == ["relais.tar.gz"]  # no leftovers
    with tarfile.open(archive) as tar:
        assert all(m.mode == 0o600 for m in tar.getmembers())
        names = tar.getnames()
    assert "relais.db" in names and "relais.toml" in names
    assert not any(n.startswith("broker") or "-wal" in n for n in names)
    later = k1.send_text(karim, "après la sauvegarde")  # the relay still runs
    expect(k1, ev.StateChanged, lambda e: e.msg == later and e.state == "accepted")

    home = tmp_path / "elsewhere" / "relais"
    done = relais(home, "restore", str(archive))
    assert done.returncode == 0, done.stderr
    assert _readable_by_others(home) == []
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert _rows(f"sqlite:///{home / 'relais.db'}") == before  # not the later message
    done = relais(home, "audit", "verify")
    assert done.returncode == 0 and "audit log intact" in done.stdout, done.stderr
    conf = (home / "broker" / "mosquitto.conf").read_text()
    assert str(home / "broker" / "passwd") in conf and str(system.cfg.home) not in conf

    ports = {"RELAIS_RELAY_PORT": str(free_port())}  # the original site still holds its own
    web = free_port()
    proc = subprocess.Popen(
        [*EXE, "--home", str(home), "--mqtt-port", str(free_port()), "--console-port", str(web),
         "up"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**_env(), **ports}, preexec_fn=_loose_umask)
    try:
        _read_until(proc, "console:")
        session = _sign_in(f"http://127.0.0.1:{web}", "admin", DEMO_PASSWORD)
        assert session.get(f"http://127.0.0.1:{web}/", timeout=10).status_code == 200
    finally:
        _stop(proc)
    assert _readable_by_others(home) == []


def _tls_home(tmp_path: Path) -> Path:
    home = tmp_path / "site" / "home"
    done = relais(home, "--mqtt-port", str(free_port()), "init", "--tls", "--tls-host", "127.0.0.1")
    assert done.returncode == 0, done.stderr
    return home


def test_tls_paths_are_kept_relative_to_the_home(tmp_path: Path) -> None:
    home = _tls_home(tmp_path)
    stored = tomllib.loads((home / "relais.toml").read_text())
    assert (stored["tls_cert"], stored["tls_key"], stored["tls_ca"]) == \
        ("tls/server.pem", "tls/server.key", "tls/ca.pem")
    cfg = config_mod.load(home)
    assert cfg.tls_cert == str(home.resolve() / "tls" / "server.pem")
    config_mod.save(cfg)  # saving what was loaded keeps them relative
    assert tomllib.loads((home / "relais.toml").read_text())["tls_ca"] == "tls/ca.pem"

    # a home made by an earlier version, with absolute paths (and a CA kept elsewhere)
    outside = tmp_path / "company-ca.pem"
    shutil.copy(home / "tls" / "ca.pem", outside)
    text = (home / "relais.toml").read_text()
    text = text.replace('"tls/server.pem"', f'"{home / "tls" / "server.pem"}"')
    (home / "relais.toml").write_text(text.replace('"tls/ca.pem"', f'"{outside}"'))
    cfg = config_mod.load(home)
    assert (cfg.tls_cert, cfg.tls_ca) == (str(home / "tls" / "server.pem"), str(outside))
    config_mod.save(cfg)
    stored = tomllib.loads((home / "relais.toml").read_text())
    assert (stored["tls_cert"], stored["tls_ca"]) == ("tls/server.pem", str(outside))


def test_a_tls_home_restored_after_its_directory_is_gone_runs_its_broker(tmp_path: Path) -> None:
    home = _tls_home(tmp_path)
    text = (home / "relais.toml").read_text()  # as an earlier version wrote it
    for name in ("server.pem", "server.key", "ca.pem"):
        text = text.replace(f'"tls/{name}"', f'"{home / "tls" / name}"')
    (home / "relais.toml").write_text(text)
    archive = tmp_path / "site.tar.gz"
    assert relais(home, "backup", str(archive)).returncode == 0
    shutil.rmtree(tmp_path / "site")  # the old machine is gone

    new = tmp_path / "new-machine" / "home"
    done = relais(new, "restore", str(archive))
    assert done.returncode == 0, done.stderr
    stored = tomllib.loads((new / "relais.toml").read_text())
    assert stored["tls_cert"] == "tls/server.pem" and stored["tls_ca"] == "tls/ca.pem"
    assert sorted(p.name for p in (new / "tls").iterdir()) == \
        ["ca.key", "ca.pem", "server.key", "server.pem"]
    assert _readable_by_others(new) == []
    cfg = config_mod.load(new)
    assert f"certfile {new.resolve() / 'tls' / 'server.pem'}" in \
        (new / "broker" / "mosquitto.conf").read_text()
    proc = BrokerProcess(broker_svc.broker_settings(cfg))
    proc.start()  # Mosquitto reads the restored certificate and key
    try:
        assert proc.running
    finally:
        proc.stop()


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    home = tmp_path / "source"
    assert relais(home, "--mqtt-port", str(free_port()), "init").returncode == 0
    path = tmp_path / "ok.tar.gz"
    assert relais(home, "backup", str(path)).returncode == 0
    return path


def test_restore_refuses_a_home_in_use_unless_forced(tmp_path: Path, archive: Path) -> None:
    home = tmp_path / "busy"
    home.mkdir()
    (home / "notes.txt").write_text("mine")
    line = _one_line_error(relais(home, "restore", str(archive)))
    assert "is not empty" in line and "--force" in line
    assert [p.name for p in home.iterdir()] == ["notes.txt"]

    (home / "relais.db-wal").write_bytes(b"stale")  # would be replayed into the restored db
    done = relais(home, "restore", "--force", str(archive))
    assert done.returncode == 0, done.stderr
    assert not (home / "relais.db-wal").exists() or (home / "relais.db-wal").read_bytes() != b"stale"
    assert relais(home, "audit", "verify").returncode == 0

    fresh = tmp_path / "fresh"  # a service user's new home: only /etc/skel's dotfiles
    fresh.mkdir()
    (fresh / ".profile").write_text("# skel")
    done = relais(fresh, "restore", str(archive))
    assert done.returncode == 0, done.stderr
    assert (fresh / ".profile").read_text() == "# skel" and (fresh / "relais.db").exists()


def _tar(path: Path, entries: dict[str, bytes], symlink: str | None = None) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        if symlink:
            info = tarfile.TarInfo(symlink)
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
            tar.addfile(info)
    return path


def test_restore_refuses_what_is_not_a_backup_and_writes_nothing(tmp_path: Path,
                                                                 archive: Path) -> None:
    with tarfile.open(archive) as tar:
        good = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]
    tampered = dict(good, **{"relais.toml": good["relais.toml"] + b"\n# edited\n"})
    cases = {
        "junk": (tmp_path / "junk.tar.gz", "not a gzip file"),
        "climbing": (_tar(tmp_path / "climb.tar.gz", {**good, "../escape": b"x"}), "unexpected entry"),
        "link": (_tar(tmp_path / "link.tar.gz", good, symlink="tls/ca.pem"), "unexpected entry"),
        "other": (_tar(tmp_path / "other.tar.gz", {"etc/hosts": b"x"}), "unexpected entry"),
        "tampered": (_tar(tmp_path / "tampered.tar.gz", tampered), "checksum"),
        "no manifest": (_tar(tmp_path / "bare.tar.gz", {"relais.toml": b""}), "no relais-backup.json"),
    }
    (tmp_path / "junk.tar.gz").write_bytes(b"not an archive")
    before = sorted(p.name for p in tmp_path.iterdir())
    for label, (path, reason) in cases.items():
        home = tmp_path / f"home-{label.replace(' ', '-')}"
        line = _one_line_error(relais(home, "restore", str(path)))
        assert "is not a Relais backup" in line and reason in line, (label, line)
        assert not home.exists(), label
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no staging left behind
    assert not (tmp_path / "escape").exists()


def test_backup_of_a_home_on_postgresql_prints_the_pg_dump_command(tmp_path: Path) -> None:
    admin = os.environ.get("RELAIS_TEST_PG_URL")
    if not admin:
        pytest.skip("RELAIS_TEST_PG_URL is not set")
    from tests.system_fixture import PgDatabase, _pg_admin

    db = PgDatabase(admin, f"relais_bk_{os.getpid()}")
    _pg_admin(admin, f'DROP DATABASE IF EXISTS "{db.name}" WITH (FORCE)')
    _pg_admin(admin, f'CREATE DATABASE "{db.name}"')
    try:
        home = tmp_path / "home"
        assert relais(home, "--db-url", db.url, "--mqtt-port", str(free_port()), "init").returncode == 0
        archive = tmp_path / "pg.tar.gz"
        done = relais(home, "backup", str(archive))
        assert done.returncode == 0, done.stderr
        command = done.stdout.strip().splitlines()[-1].strip()
        assert command.startswith(f"pg_dump --format=custom --file={archive}.pgdump 'postgresql://")
        with tarfile.open(archive) as tar:
            assert "relais.db" not in tar.getnames()
        dumped = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=120)
        assert dumped.returncode == 0, dumped.stderr  # the printed command works as printed

        empty = PgDatabase(admin, f"relais_bk_empty_{os.getpid()}")
        _pg_admin(admin, f'DROP DATABASE IF EXISTS "{empty.name}" WITH (FORCE)')
        _pg_admin(admin, f'CREATE DATABASE "{empty.name}"')
        try:  # a dump not loaded yet: refused in one line, nothing written
            line = _one_line_error(relais(tmp_path / "early", "--db-url", empty.url, "restore",
                                          str(archive)))
            assert "the database is empty: load the dump first (pg_restore" in line
            assert not (tmp_path / "early").exists()
        finally:
            _pg_admin(admin, f'DROP DATABASE IF EXISTS "{empty.name}" WITH (FORCE)')

        done = relais(tmp_path / "restored", "restore", str(archive))  # same database, loaded
        assert done.returncode == 0, done.stderr
        assert relais(tmp_path / "restored", "audit", "verify").returncode == 0
    finally:
        _pg_admin(admin, f'DROP DATABASE IF EXISTS "{db.name}" WITH (FORCE)')
