"""The broker's subscription check is built on the machine that runs it (broker_config.plugin):
once per source, from a cache only its user may write after that; a machine that cannot
build it is told what to install, in the IT person's language, and no broker is rendered
without it; a build that fails later keeps the one installed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from broker_config import BrokerSettings, free_port, plugin, render
from broker_config.errors import BrokerError
from hr_console.cli.common import refusal


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "relais"


def _no_compiler(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plugin.shutil, "which", lambda _name: None)
    real = os.access
    monkeypatch.setattr(plugin.os, "access",
                        lambda path, mode: False if path == "/usr/bin/cc" else real(path, mode))


def _settings(tmp_path: Path) -> BrokerSettings:
    return BrokerSettings(directory=tmp_path / "broker", terminal_port=free_port(),
                          relay_port=free_port())


def test_built_once_then_taken_from_the_cache(cache: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    first = plugin.built(tmp_path)
    assert first.parent == cache and first.stat().st_size > 0
    _no_compiler(monkeypatch)
    assert plugin.built(tmp_path) == first
    target = plugin.install(tmp_path)
    assert target.read_bytes() == first.read_bytes()


def test_an_upgraded_mosquitto_gets_a_plugin_built_for_it(
        cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A plugin compiled against the headers of the Mosquitto that was installed before an
    upgrade is not taken from the cache for the new one: it is built again."""
    before = plugin.built(tmp_path)
    include = tmp_path / "include"
    include.mkdir()
    for header in plugin.HEADERS:
        text = (plugin.INCLUDE / header).read_bytes()
        (include / header).write_bytes(text + b"\n/* 2.0.99 */\n" if header ==
                                       "mosquitto_plugin.h" else text)
    monkeypatch.setattr(plugin, "INCLUDE", include)
    after = plugin.built(tmp_path)
    assert after != before and after.parent == cache
    assert after.read_bytes()[:4] == b"\x7fELF" and before.exists()
    monkeypatch.setattr(plugin, "INCLUDE", Path("/usr/include"))
    assert plugin.built(tmp_path) == before  # the same headers: the same build


def test_a_cache_another_user_could_write_is_never_used(cache: Path, tmp_path: Path) -> None:
    """The broker loads the file: a planted one (a link to someone's file, or a file in a
    folder others may write) would run as the broker's user, root if root runs it."""
    cache.mkdir(parents=True)
    name = plugin.built(tmp_path).name
    (cache / name).unlink()
    planted = tmp_path / "planted.so"
    planted.write_bytes(b"not the plugin")
    (cache / name).symlink_to(planted)
    assert plugin.built(tmp_path).read_bytes()[:4] == b"\x7fELF"  # built again, not taken
    (cache / name).unlink()
    cache.chmod(0o777)  # a folder anyone may write: not a cache
    made = plugin.built(tmp_path)
    assert made.parent == tmp_path and made.read_bytes()[:4] == b"\x7fELF"


def test_no_compiler_says_what_to_install(cache: Path, monkeypatch: pytest.MonkeyPatch,
                                          tmp_path: Path) -> None:
    _no_compiler(monkeypatch)
    settings = _settings(tmp_path)
    with pytest.raises(BrokerError) as caught:
        render(settings, [], [])
    assert caught.value.code == "no_compiler"
    assert "apt-get install gcc mosquitto-dev" in refusal(caught.value)
    assert not settings.conf_path.exists()  # no broker without its subscription check


def test_a_build_that_fails_later_keeps_the_installed_check(
        cache: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A reload (a terminal revoked) must go through, with the check the broker has."""
    settings = _settings(tmp_path)
    render(settings, [], [])
    before = settings.plugin_path.read_bytes()
    for path in cache.iterdir():
        path.unlink()  # a cleaned cache, and no compiler any more
    _no_compiler(monkeypatch)
    render(settings, [], [])
    assert settings.plugin_path.read_bytes() == before
    assert f"plugin {settings.plugin_path}" in settings.conf_path.read_text().splitlines()


def test_a_failed_build_says_why(cache: Path, monkeypatch: pytest.MonkeyPatch,
                                 tmp_path: Path) -> None:
    broken = tmp_path / "relais_subscribe.c"
    broken.write_text("#include <no_such_header_here.h>\n", encoding="utf-8")
    monkeypatch.setattr(plugin, "SOURCE", broken)
    with pytest.raises(BrokerError) as caught:
        plugin.built(tmp_path)
    assert caught.value.code == "plugin_not_built"
    assert "no_such_header_here.h" in str(caught.value.detail["error"])
    assert list(cache.iterdir()) == []  # nothing half-built left in the cache
