"""``relais backup FILE`` and ``relais restore FILE``: a whole home in one private archive.

What a home cannot be rebuilt without goes in: the database (SQLite, copied online with
SQLite's backup API, so a copy taken while the relay and console write is consistent;
photos and drawings live in it, table ``media``), ``relais.toml`` (the badge pepper, the
console's session key, the server accounts' broker passwords) and the TLS material under
``HOME/tls`` (the local CA's key: without it every terminal needs a new CA). The broker's
files are not: ``restore`` renders them again from the restored database, as ``init`` does.

PostgreSQL is dumped with ``pg_dump``, the tool made for it (it must match the server's
major version, and the database may live on another machine): ``backup`` archives the
rest and prints the exact command (docs/deploy.md, "6. Backups").

Registered on the root group by ``register(main)`` (``hr_console/cli/__init__.py``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import shutil
import sqlite3
import tarfile
import tempfile
import tomllib
from pathlib import Path, PurePosixPath
from typing import Any

import click
import tomli_w

from hr_console import config as config_mod
from hr_console.cli.i18n import Command, _, _l

MANIFEST = "relais-backup.json"
FORMAT = 1
DATABASE = "relais.db"
TLS_DIR = "tls"
# Everything an archive may hold; restore refuses any other name.
TOP_LEVEL = {MANIFEST, config_mod.CONFIG_FILE, DATABASE, TLS_DIR}
# What restore replaces in a home given with --force: stale SQLite companions would be
# replayed into the restored database, and the broker's files are rendered anew.
REPLACED = ("relais.db-wal", "relais.db-shm", "relais.db-journal", "broker", TLS_DIR)


def _sqlite_path(url: str) -> Path | None:
    prefix = "sqlite:///"
    return Path(url[len(prefix):].split("?", 1)[0]) if url.startswith(prefix) else None


def _libpq_url(url: str) -> str:
    """The database URL as pg_dump reads it (no SQLAlchemy driver, no password: pg_dump
    takes it from PGPASSWORD or ~/.pgpass, never from a command line others can see)."""
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql", password=None).render_as_string(
        hide_password=False)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _sqlite_copy(source: Path, copy: Path) -> None:
    """A consistent copy of a live database: the backup API reads one snapshot (WAL lets the
    relay keep writing meanwhile), which copying the file would not (the -wal holds the
    latest commits). The copy is one self-contained file."""
    if not source.exists():
        raise click.ClickException(_("no database at {path}: nothing to back up").format(path=source))
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(copy)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")
        (check,) = dst.execute("PRAGMA quick_check").fetchone()
        if check != "ok":
            raise click.ClickException(
                _("the database copy failed its check: {check}").format(check=check))
    except sqlite3.Error as exc:
        raise click.ClickException(_("cannot copy the database {path}: {error}").format(
            path=source, error=exc)) from None
    finally:
        dst.close()
        src.close()


def _archived_settings(cfg: config_mod.Settings) -> bytes:
    """relais.toml as stored (not this run's flags or variables), with paths inside the home
    relative to it and no SQLite location: the restored home finds its own files."""
    stored = tomllib.loads(cfg.config_path.read_text(encoding="utf-8"))
    for key in config_mod.TLS_FIELDS:
        if key in stored:
            stored[key] = config_mod._in_home(cfg.home, str(stored[key]))
    if _sqlite_path(str(stored.get("db_url", ""))) is not None:
        del stored["db_url"]
    return tomli_w.dumps(stored).encode("utf-8")


def _tls_files(cfg: config_mod.Settings) -> tuple[list[Path], list[str]]:
    """TLS files inside the home (all of HOME/tls, plus any tls_* file elsewhere in it),
    and the tls_* paths outside it, which the archive cannot carry."""
    inside = sorted(p for p in (cfg.home / TLS_DIR).rglob("*") if p.is_file()) \
        if (cfg.home / TLS_DIR).is_dir() else []
    outside = []
    for value in (cfg.tls_cert, cfg.tls_key, cfg.tls_ca):
        if not value:
            continue
        path = Path(value)
        if not path.is_relative_to(cfg.home):
            outside.append(value)
        elif path.is_file() and path not in inside:
            if path.relative_to(cfg.home).parts[0] != TLS_DIR:
                outside.append(value)  # restore only places files under tls/
            else:
                inside.append(path)
    return inside, outside


def _add(tar: tarfile.TarFile, name: str, data: bytes | None = None,
         path: Path | None = None) -> str:
    """Add a file (bytes, or streamed from ``path``) with mode 0600 and no owner name;
    returns its sha256."""
    info = tarfile.TarInfo(name)
    info.mode, info.mtime = 0o600, int(dt.datetime.now().timestamp())
    if path is not None:
        info.size = path.stat().st_size
        with path.open("rb") as fh:
            tar.addfile(info, fh)
        return _sha256(path)
    assert data is not None
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))
    return hashlib.sha256(data).hexdigest()


@click.command("backup", cls=Command, help=_l(
    "Write the home (database, settings, TLS material) to FILE (tar.gz, mode 0600), consistent "
    "while the services run."))
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
@click.pass_obj
def backup(obj: Any, file: str) -> None:
    cfg = obj.ready_cfg()
    target = Path(file).absolute()
    if not target.parent.is_dir():
        raise click.ClickException(
            _("no directory {folder} for the backup").format(folder=target.parent))
    db_path = _sqlite_path(cfg.database_url)
    tls, outside = _tls_files(cfg)
    with tempfile.TemporaryDirectory(prefix=".relais-backup-", dir=target.parent) as tmp:
        tmp_dir = Path(tmp)
        part = tmp_dir / target.name
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.fchmod(fd, 0o600)  # whatever the umask
        files: dict[str, str] = {}
        with os.fdopen(fd, "wb") as raw:
            with tarfile.open(fileobj=raw, mode="w:gz") as tar:
                files[config_mod.CONFIG_FILE] = _add(tar, config_mod.CONFIG_FILE,
                                                     _archived_settings(cfg))
                if db_path is not None:
                    copy = tmp_dir / DATABASE
                    _sqlite_copy(db_path, copy)
                    files[DATABASE] = _add(tar, DATABASE, path=copy)
                    copy.unlink()
                for path in tls:
                    name = path.relative_to(cfg.home).as_posix()
                    files[name] = _add(tar, name, path=path)
                manifest = {"format": FORMAT, "created": dt.datetime.now(dt.UTC).isoformat(),
                            "home": str(cfg.home),
                            "database": "sqlite" if db_path is not None else "postgresql",
                            "files": files}
                _add(tar, MANIFEST, json.dumps(manifest, indent=2).encode("utf-8"))
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(part, target)
    click.echo(_("backup written to {file} ({count} files, mode 0600)").format(
        file=target, count=len(files)))
    for value in outside:
        click.echo(_("not in the backup (outside the home, keep it yourself): {value}").format(
            value=value), err=True)
    if db_path is None:
        click.echo(_("the database is PostgreSQL: dump it next to this file with")
                   + f"\n  pg_dump --format=custom --file={target}.pgdump "
                   f"'{_libpq_url(cfg.database_url)}'")


# --- restore ------------------------------------------------------------------------------


def _not_a_backup(file: str, why: str) -> click.ClickException:
    return click.ClickException(_("{file} is not a Relais backup ({why})").format(file=file, why=why))


def _members(tar: tarfile.TarFile, file: str) -> dict[str, tarfile.TarInfo]:
    """The archive's files by name, refusing anything restore would not write itself: links,
    devices, absolute or climbing paths, names outside TOP_LEVEL."""
    found: dict[str, tarfile.TarInfo] = {}
    for info in tar.getmembers():
        name = PurePosixPath(info.name)
        if info.isdir():
            continue
        if not info.isfile() or name.is_absolute() or ".." in name.parts \
                or name.parts[0] not in TOP_LEVEL or (name.parts[0] == TLS_DIR) == (len(name.parts) == 1):
            raise _not_a_backup(file, _("unexpected entry {name!r}").format(name=info.name))
        found[name.as_posix()] = info
    return found


def _read_manifest(tar: tarfile.TarFile, members: dict[str, tarfile.TarInfo],
                   file: str) -> dict[str, Any]:
    if MANIFEST not in members or config_mod.CONFIG_FILE not in members:
        raise _not_a_backup(file, _("no {manifest} or {config}").format(
            manifest=MANIFEST, config=config_mod.CONFIG_FILE))
    try:
        manifest = json.loads(tar.extractfile(members[MANIFEST]).read())  # type: ignore[union-attr]
    except ValueError:
        raise _not_a_backup(file, _("unreadable {manifest}").format(manifest=MANIFEST)) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else None
        raise _not_a_backup(file, _("format {found!r}, this version reads {format}").format(
            found=found, format=FORMAT))
    listed = set(manifest.get("files", {}))
    if listed != set(members) - {MANIFEST}:
        raise _not_a_backup(file, _("its files differ from its manifest"))
    return manifest


def _extract(tar: tarfile.TarFile, members: dict[str, tarfile.TarInfo],
             manifest: dict[str, Any], staging: Path, file: str) -> None:
    """Write each file 0600 (directories 0700) into ``staging``, checking its sha256."""
    for name, info in members.items():
        if name == MANIFEST:
            continue
        dest = staging.joinpath(*PurePosixPath(name).parts)
        dest.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        src = tar.extractfile(info)
        assert src is not None
        digest = hashlib.sha256()
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            while chunk := src.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != manifest["files"][name]:
            raise _not_a_backup(file, _("{name} does not match its checksum").format(name=name))


def _check_database(cfg: config_mod.Settings, manifest: dict[str, Any]) -> None:
    """A PostgreSQL backup restores onto a database already loaded with pg_restore."""
    if manifest.get("database") != "postgresql":
        return
    url = cfg.database_url
    if _sqlite_path(url) is not None:
        raise click.ClickException(_("this backup's database is PostgreSQL: give its URL with "
                                     "--db-url or RELAIS_DB_URL"))
    from sqlalchemy import create_engine, inspect

    engine = create_engine(url)
    try:
        loaded = inspect(engine).has_table("alembic_version")
    except Exception as exc:  # noqa: BLE001 - any connection failure, in one line
        raise click.ClickException(
            _("cannot reach the database: {error}").format(error=exc).splitlines()[0]) from None
    finally:
        engine.dispose()
    if not loaded:
        raise click.ClickException(
            _("the database is empty: load the dump first (pg_restore --dbname='{url}' "
              "FILE.pgdump), then run relais restore again").format(url=_libpq_url(url)))


@click.command("restore", cls=Command, help=_l(
    "Rebuild a home from a FILE written by `relais backup` (stop the services first)."))
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--force", is_flag=True,
              help=_l("Restore into a home that is not empty, replacing its Relais files."))
@click.pass_obj
def restore(obj: Any, file: str, force: bool) -> None:
    from hr_console.cli.home import initialise

    home = Path(obj.home or "var").resolve()
    if home.exists() and not home.is_dir():
        raise click.ClickException(_("{home} is not a directory").format(home=home))
    # Hidden files do not count: useradd --create-home gives the service user's new home a
    # .profile and .bashrc (docs/deploy.md, "1. Packages and a user").
    if home.exists() and any(not p.name.startswith(".") for p in home.iterdir()) and not force:
        raise click.ClickException(_("{home} is not empty: restore into a new directory, or "
                                     "add --force to replace its Relais files").format(home=home))
    try:  # opened before the command becomes the home's owner: root may have decrypted it
        tar = tarfile.open(file, "r:gz")  # noqa: SIM115 - closed by the `with tar` below
    except (tarfile.TarError, OSError) as exc:
        raise _not_a_backup(file, str(exc).splitlines()[0] if str(exc) else _("not a tar.gz")) from None
    with tar:
        _owner = obj.cfg  # from here on this process acts as the home's owner, as every command
        members = _members(tar, file)
        manifest = _read_manifest(tar, members, file)
        if manifest.get("database") == "sqlite" and DATABASE not in members:
            raise _not_a_backup(file, _("no {name}").format(name=DATABASE))
        created = not home.exists()
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Staged inside the home (same file system, and the only place its owner may write).
        staging = Path(tempfile.mkdtemp(prefix=".relais-restore-", dir=home))
        try:
            _extract(tar, members, manifest, staging, file)
            try:
                staged = config_mod.load(staging, **obj.flags)
            except ValueError as exc:
                raise _not_a_backup(file, str(exc)) from None
            _check_database(staged, manifest)
            for name in REPLACED:
                target = home / name
                if target.is_dir() and not target.is_symlink():
                    shutil.rmtree(target)
                elif target.exists() or target.is_symlink():
                    target.unlink()
            for item in staging.iterdir():
                os.replace(item, home / item.name)
        except BaseException:
            if created:
                shutil.rmtree(home, ignore_errors=True)
            raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    try:
        initialise(config_mod.load(home, **obj.flags))
    except Exception as exc:  # noqa: BLE001 - one line, whatever failed
        raise click.ClickException(_("restored the files into {home}, but: {error}").format(
            home=home, error=exc)) from None
    click.echo(_("restored {file} into {home}; broker files rendered anew. Check the audit "
                 "log with `relais --home {home} audit verify`.").format(file=file, home=home))


def register(main: click.Group) -> None:
    main.add_command(backup)
    main.add_command(restore)
