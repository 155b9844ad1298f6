"""A terminal installs ``relais[kiosk]`` and gets none of the server's stack (issue 13): the
package's metadata says so, and the commands a terminal runs work in an interpreter where
every server package refuses to import, as on a terminal where pip never installed them."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# What the console, the relay and their database need, and a terminal must not receive.
SERVER_PACKAGES = {"flask", "flask-login", "flask-wtf", "flask-babel", "flask-limiter", "wtforms",
                   "sqlalchemy", "alembic", "psycopg", "waitress", "cryptography"}


def _name(requirement: str) -> str:
    """The distribution a requirement names, normalised (PEP 503): ``Flask-WTF>=1.2`` -> flask-wtf."""
    return re.split(r"[\s\[<>=!~;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_a_terminal_install_pulls_in_no_server_package() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    terminal = {_name(r) for r in [*project["dependencies"], *extras["kiosk"]]}
    assert terminal & SERVER_PACKAGES == set(), "relais[kiosk] would install the server's stack"
    assert "kivy" in terminal and {"paho-mqtt", "click", "tomli-w", "requests"} <= terminal
    assert {_name(r) for r in extras["server"]} >= SERVER_PACKAGES, "the server extra lost one"


# Runs in a fresh interpreter: a finder first on sys.meta_path refuses the server's packages
# (and, for the last command, Kivy), then the terminal's commands run through the real entry
# point; each one's exit code and what it printed come back as JSON.
TERMINAL = textwrap.dedent("""
    import contextlib, importlib.abc, io, json, pkgutil, sys

    BLOCKED = ("flask", "sqlalchemy", "alembic", "psycopg", "waitress", "wtforms", "cryptography")
    NO_KIVY = False

    class Blocker(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            root = name.split(".")[0]
            if root in BLOCKED or root.startswith("flask_") or (NO_KIVY and root == "kivy"):
                raise ModuleNotFoundError(f"No module named {root!r}", name=root)
            return None

    sys.meta_path.insert(0, Blocker())
    from hr_console.cli import main

    def relais(*args):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main(list(args), prog_name="relais")
                code = 0
            except SystemExit as exc:
                code = exc.code
            except BaseException as exc:
                code = repr(exc)
        return {"code": code, "out": out.getvalue(), "err": err.getvalue()}

    conf, home = sys.argv[1], sys.argv[2]
    done = {"help": relais("--help"), "enrol_help": relais("kiosk-enrol", "--help"),
            "kiosk_help": relais("kiosk", "--help"),
            "enrol_http": relais("kiosk-enrol", "http://relais.example", "1A2B-3C4D"),
            "server_cmd": relais("--home", home, "init")}
    import kiosk_app.config, kiosk_app.link, kiosk_app.media, kiosk_app.ui.launch
    for mod in pkgutil.walk_packages(kiosk_app.link.__path__, "kiosk_app.link."):
        __import__(mod.name)
    NO_KIVY = True
    done["kiosk_no_kivy"] = relais("kiosk", "--config", conf)
    done["imported"] = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
    print(json.dumps(done))
""")


def test_the_terminals_commands_run_without_the_server_stack(tmp_path: Path) -> None:
    conf = tmp_path / "kiosk" / "config.json"
    conf.parent.mkdir()
    conf.write_text(json.dumps({"terminal": "atelier-nord", "password": "x" * 24,
                                "mqtt_host": "127.0.0.1", "mqtt_port": 8883,
                                "api_url": "https://relais.example"}), encoding="utf-8")
    ran = subprocess.run([sys.executable, "-c", TERMINAL, str(conf), str(tmp_path / "home")],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr
    done = json.loads(ran.stdout.strip().splitlines()[-1])
    for key, words in (("help", "kiosk-enrol"), ("enrol_help", "--ca-fingerprint"),
                       ("kiosk_help", "--config")):
        assert done[key]["code"] == 0 and words in done[key]["out"], done[key]
    # kiosk-enrol really ran (it refuses plain HTTP off loopback before any network).
    assert done["enrol_http"]["code"] == 1, done["enrol_http"]
    assert "https://" in done["enrol_http"]["err"]
    # A server command on a terminal says what to install, in one line.
    server = done["server_cmd"]
    assert server["code"] == 1 and server["err"].count("\n") == 1, server
    # Which server module is imported first is the command's business; that one is named.
    assert "pip install 'relais[server]'" in server["err"], server
    assert re.search(r"No module named '(sqlalchemy|alembic|flask\w*|psycopg|waitress|wtforms"
                     r"|cryptography)'", server["err"]), server
    kiosk = done["kiosk_no_kivy"]
    assert kiosk["code"] == 1, kiosk
    assert kiosk["err"].startswith("Error: the kiosk needs Kivy: pip install 'relais[kiosk]'")
    assert kiosk["err"].count("\n") == 1, kiosk
    assert done["imported"] == []
