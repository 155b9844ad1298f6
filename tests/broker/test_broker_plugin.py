"""The broker's subscription check is built on the machine that runs it (broker_config.plugin):
once per source, from a cache after that; a machine that cannot build it is told what to
install, in the IT person's language, and no broker is rendered without it."""

from __future__ import annotations

from pathlib import Path

import pytest

from broker_config import BrokerSettings, free_port, plugin, render
from broker_config.errors import BrokerError
from hr_console.cli.common import refusal


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "relais"


def test_built_once_then_taken_from_the_cache(cache: Path, monkeypatch: pytest.MonkeyPatch
                                               ) -> None:
    first = plugin.built()
    assert first.parent == cache and first.stat().st_size > 0
    monkeypatch.setattr(plugin.shutil, "which", lambda _name: None)  # no compiler any more
    assert plugin.built() == first
    target = plugin.install(cache.parent)
    assert target.read_bytes() == first.read_bytes()


def test_no_compiler_says_what_to_install(cache: Path, monkeypatch: pytest.MonkeyPatch,
                                          tmp_path: Path) -> None:
    monkeypatch.setattr(plugin.shutil, "which", lambda _name: None)
    settings = BrokerSettings(directory=tmp_path / "broker", terminal_port=free_port(),
                              relay_port=free_port())
    with pytest.raises(BrokerError) as caught:
        render(settings, [], [])
    assert caught.value.code == "no_compiler"
    assert "apt-get install gcc mosquitto-dev" in refusal(caught.value)
    assert not settings.conf_path.exists()  # no broker without its subscription check


def test_a_failed_build_says_why(cache: Path, monkeypatch: pytest.MonkeyPatch,
                                 tmp_path: Path) -> None:
    broken = tmp_path / "relais_subscribe.c"
    broken.write_text("#include <no_such_header_here.h>\n", encoding="utf-8")
    monkeypatch.setattr(plugin, "SOURCE", broken)
    with pytest.raises(BrokerError) as caught:
        plugin.built()
    assert caught.value.code == "plugin_not_built"
    assert "no_such_header_here.h" in str(caught.value.detail["error"])
    assert list(cache.iterdir()) == []  # nothing half-built left in the cache
