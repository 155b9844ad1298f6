"""docs/deploy.md performed on this machine the way an admin does it, as root.

A fresh system account (``useradd`` as the guide types it, home under a world-crossable temp
directory), the documented admin commands run as root exactly as written (only the paths,
the names and the ports are substituted: see ``typed``), the services started as that account
from the ``ExecStart`` lines of deploy/systemd/*.service (the process itself runs as the
account, so a signal reaches ``relais broker`` as systemd's $MAINPID), HTTPS in front of the
console (``tests/tls_front.py`` in the quick variant, a real nginx configured from the guide's
own ``nginx`` block in the long one), a terminal enrolled from another directory with
``relais kiosk-enrol … --ca-fingerprint``, its link connected over TLS, a sign-in as the user
``user add`` made, a message from the enrolled terminal to a second one, SIGHUP to the broker,
a backup, a restore into a fresh home and a sign-in there.

The install: the guide's venv command is run with Debian's ``/usr/bin/python3`` (the test
process's interpreter lives under /root/.pyenv, which the service account cannot read). The
guide's ``pip install /opt/relais`` would fetch and build everything again (minutes, and the
network); instead the root-owned venv gets one ``.pth`` that adds the project's .venv
site-packages (same CPython minor version, so the same wheels; the editable install points at
this tree) and the ``relais`` script pip would have written. What runs is what pip installs:
root owns it, the service account only reads it.

The guide's commands are listed once below, literally; ``test_the_commands_are_the_guides``
checks each is in docs/deploy.md as written, so the guide cannot drift from what runs here.
"""

from __future__ import annotations

import configparser
import contextlib
import json
import os
import pwd
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from broker_config.ports import free_port, free_ports
from kiosk_app.link import events as ev
from kiosk_app.link.client import TerminalLink
from tests.system_fixture import expect
from tests.tls_front import tls_front

REPO = Path(__file__).resolve().parents[2]
GUIDE = REPO / "docs" / "deploy.md"
UNITS = REPO / "deploy" / "systemd"
SITE_PACKAGES = REPO / ".venv" / "lib" / "python3.11" / "site-packages"

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("useradd") or not Path("/usr/bin/python3").exists()
    or not shutil.which("mosquitto", path="/usr/sbin:/usr/bin"),
    reason="performs the guide as root: needs root, useradd, /usr/bin/python3 and mosquitto")

# --- the guide's commands, as docs/deploy.md writes them ---------------------------------------

USERADD = "useradd --system --home-dir /var/lib/relais --create-home --shell /usr/sbin/nologin relais"
MAKE_VENV = "python3 -m venv /opt/relais/.venv"
LINK = "ln -s /opt/relais/.venv/bin/relais /usr/local/bin/relais"
INIT = ("/opt/relais/.venv/bin/relais --home /var/lib/relais --mqtt-port 8883 init "
        "--tls --tls-host relais.usine.local --tls-host 10.0.20.5")
USER_ADD = "relais --home /var/lib/relais user add marie --role hr"
SITE_ADD = "relais --home /var/lib/relais site add usine"
TERMINAL_ADD = "relais --home /var/lib/relais terminal add atelier-nord --site usine"
ENROL = ('relais kiosk-enrol https://relais.usine.local 1A2B-3C4D-5E6F '
         '--ca-fingerprint 3F:A0:…:9C --out /etc/relais-kiosk --site "Usine"')
BACKUP_DIR = "install -d -o relais -g relais -m 0700 /var/backups/relais"
BACKUP = ("/opt/relais/.venv/bin/relais --home /var/lib/relais "
          "backup /var/backups/relais/relais-$(date +%F).tar.gz")
RESTORE = "/opt/relais/.venv/bin/relais --home /var/lib/relais restore /root/relais.tar.gz"
AUDIT_VERIFY = "/opt/relais/.venv/bin/relais --home /var/lib/relais audit verify"
GUIDE_COMMANDS = (USERADD, MAKE_VENV, LINK, INIT, USER_ADD, SITE_ADD, TERMINAL_ADD, ENROL, BACKUP_DIR,
                  BACKUP, RESTORE, AUDIT_VERIFY)
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _flat(text: str) -> str:
    """Shell continuations and line breaks folded, runs of blanks made one."""
    return re.sub(r"\s+", " ", text.replace("\\\n", " "))


def test_the_commands_are_the_guides() -> None:
    guide = _flat(GUIDE.read_text(encoding="utf-8"))
    missing = [cmd for cmd in GUIDE_COMMANDS if cmd not in guide]
    assert not missing, f"docs/deploy.md no longer says: {missing}"
    assert "sudo " not in guide.split("## Outgrowing one machine")[0], \
        "the Monday-morning install needs no sudo (root's commands act as the home's owner)"


def _guide_block(lang: str) -> str:
    """The first fenced block of ``lang`` in the guide."""
    found = re.search(rf"```{lang}\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.S)
    assert found, f"no {lang} block in docs/deploy.md"
    return found[1]


# --- the machine -------------------------------------------------------------------------------


@dataclass
class Site:
    root: Path
    user: str
    venv: Path
    home: Path
    backups: Path
    mqtt_port: int
    console_port: int
    front_port: int = 0
    env: dict[str, str] = field(default_factory=dict)
    services: list[subprocess.Popen[str]] = field(default_factory=list)

    def typed(self, cmd: str, *, home: Path | None = None) -> str:
        """The guide's command with this machine's paths, account, names and ports."""
        out = (cmd.replace("/opt/relais/.venv", str(self.venv))
               .replace("/var/lib/relais", str(home or self.home))
               .replace("/var/backups/relais", str(self.backups))
               .replace("/usr/local/bin", str(self.root / "bin"))
               .replace("relais.usine.local", f"localhost:{self.front_port}"
                        if cmd.startswith("relais kiosk-enrol") else "localhost")
               .replace("--mqtt-port 8883", f"--mqtt-port {self.mqtt_port}"))
        out = re.sub(r"(-[og]) relais\b", rf"\1 {self.user}", out)
        return re.sub(r" relais$", f" {self.user}", out)

    def admin(self, cmd: str, *, cwd: Path | None = None, stdin: str | None = None,
              home: Path | None = None) -> subprocess.CompletedProcess[str]:
        """A command typed as root in a shell whose PATH has the guide's ``/usr/local/bin``
        (this machine's ``ROOT/bin``) before the system's."""
        return subprocess.run(["bash", "-c", self.typed(cmd, home=home)], cwd=cwd or self.root,
                              env=self.env, input=stdin, capture_output=True, text=True,
                              timeout=120)

    def start(self, unit: str, *, home: Path | None = None) -> subprocess.Popen[str]:
        """The unit's ExecStart as its User= (systemd's way: the process itself, no su)."""
        parser = configparser.ConfigParser(interpolation=None, strict=False)
        parser.read(UNITS / unit)
        service = parser["Service"]
        argv = shlex.split(self.typed(service["ExecStart"].replace("%i", "1"), home=home))
        assert service["User"] == "relais"
        entry = pwd.getpwnam(self.user)
        env = {"PATH": SYSTEM_PATH, "HOME": entry.pw_dir, "USER": self.user,
               "LOGNAME": self.user, "LANG": "C.UTF-8"}
        proc = subprocess.Popen(argv, cwd=self.typed(service["WorkingDirectory"], home=home),
                                user=entry.pw_uid, group=entry.pw_gid, extra_groups=[],
                                umask=0o077, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, start_new_session=True)
        self.services.append(proc)
        return proc

    def stop_services(self) -> None:
        for proc in reversed(self.services):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(10)
        self.services.clear()


def _install_venv(site: Site) -> None:
    """The guide's ``python3 -m venv`` with Debian's python3, then what ``pip install``
    leaves: the packages (through a .pth onto the project's own site-packages) and the
    ``relais`` script (see the module's docstring for why not pip itself)."""
    done = subprocess.run(["bash", "-c", site.typed(MAKE_VENV).replace("python3", "/usr/bin/python3", 1)
                           + " --without-pip"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    (site.venv / "lib" / "python3.11" / "site-packages" / "relais-project.pth").write_text(
        f"import site; site.addsitedir({str(SITE_PACKAGES)!r})\n")
    script = site.venv / "bin" / "relais"
    script.write_text(f"#!{site.venv}/bin/python3\nimport sys\nfrom hr_console.cli import main\n"
                      "sys.exit(main())\n")
    script.chmod(0o755)
    done = site.admin(LINK)
    assert done.returncode == 0, done.stderr


@pytest.fixture
def machine() -> Iterator[Site]:
    """A machine after the guide's step 1: the service account (``useradd`` as typed) and the
    root-owned venv; removed afterwards (account, home, processes)."""
    if not SITE_PACKAGES.is_dir():
        pytest.skip(f"no project venv at {SITE_PACKAGES}")
    # An admin's shell has umask 022; this process may have inherited relais's 077 from a test
    # that ran the CLI in-process before, and the service account could then not reach its home.
    umask = os.umask(0o022)
    root = Path(tempfile.mkdtemp(prefix="relais-guide-", dir="/tmp"))
    root.chmod(0o755)  # mkdtemp's 0700 would keep the service account out, /var/lib is 0755
    ports = free_ports(2)
    site = Site(root=root, user=f"relais-guide-{secrets.token_hex(3)}", venv=root / "opt" / ".venv",
                home=root / "lib" / "relais", backups=root / "backups" / "relais",
                mqtt_port=ports[0], console_port=ports[1])
    (root / "lib").mkdir(mode=0o755)
    (root / "backups").mkdir(mode=0o755)
    (root / "bin").mkdir(mode=0o755)
    site.env = {"PATH": f"{root}/bin:{SYSTEM_PATH}", "HOME": str(root), "LANG": "C.UTF-8"}
    try:
        done = site.admin(USERADD)
        assert done.returncode == 0, done.stderr
        assert site.home.stat().st_uid == pwd.getpwnam(site.user).pw_uid
        _install_venv(site)
        yield site
    finally:
        site.stop_services()
        subprocess.run(["userdel", site.user], capture_output=True)
        subprocess.run(["groupdel", site.user], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
        os.umask(umask)


# --- HTTPS in front of the console -------------------------------------------------------------


@contextlib.contextmanager
def _python_front(site: Site) -> Iterator[int]:
    """tests/tls_front.py playing nginx, with the home's certificate as the guide has it."""
    tls = site.home / "tls"
    with tls_front(f"http://127.0.0.1:{site.console_port}", str(tls / "server.pem"),
                   str(tls / "server.key")) as port:
        yield port


@contextlib.contextmanager
def _nginx_front(site: Site) -> Iterator[int]:
    """A real nginx, as root with its own configuration: the guide's ``server`` block, its
    paths and ports substituted, in the foreground (never the system's service)."""
    nginx = shutil.which("nginx", path=SYSTEM_PATH)
    if nginx is None:
        pytest.skip("nginx is not installed (make test-long installs nginx-light)")
    port = free_port()
    server = (_guide_block("nginx").replace("listen 443 ssl", f"listen 127.0.0.1:{port} ssl")
              .replace("/var/lib/relais", str(site.home))
              .replace("127.0.0.1:8470", f"127.0.0.1:{site.console_port}"))
    assert f"127.0.0.1:{port} ssl" in server and str(site.home) in server
    run = site.root / "nginx"
    run.mkdir()
    conf = run / "nginx.conf"
    conf.write_text(
        f"daemon off;\npid {run}/nginx.pid;\nerror_log {run}/error.log;\nworker_processes 1;\n"
        "events { worker_connections 64; }\n"
        f"http {{\n access_log {run}/access.log;\n client_body_temp_path {run}/body;\n"
        f" proxy_temp_path {run}/proxy;\n fastcgi_temp_path {run}/fastcgi;\n"
        f" uwsgi_temp_path {run}/uwsgi;\n scgi_temp_path {run}/scgi;\n{server}\n}}\n")
    checked = subprocess.run([nginx, "-t", "-c", str(conf)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    proc = subprocess.Popen([nginx, "-c", str(conf)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        _wait_listening(port, proc)
        yield port
    finally:
        proc.send_signal(signal.SIGQUIT)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def _wait_listening(port: int, proc: subprocess.Popen[str], within: float = 30) -> None:
    """Until something accepts on ``port`` (a readiness wait, not a timing assertion)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port}")


# --- what an admin and a terminal do -----------------------------------------------------------


def _one_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode != 0, done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


def _edit_toml(path: Path, block: str) -> None:
    """The guide's "edit relais.toml so that …" done as an admin does in an editor: a key
    ``init`` already wrote gets its new value on its own line, a new key goes with the
    settings above the first table (appended at the end it would land in
    ``[server_passwords]``). The file keeps its owner and mode (same inode)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    top = next((i for i, line in enumerate(lines) if line.startswith("[")), len(lines))
    for wanted in block.splitlines():
        setting = wanted.split("#", 1)[0].strip()
        if not setting:
            continue
        key = setting.split("=", 1)[0].strip()
        at = next((i for i in range(top) if re.match(rf"{re.escape(key)}\s*=", lines[i])), None)
        if at is None:
            lines.insert(top, setting)
            top += 1
        else:
            lines[at] = setting
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _sign_in(base: str, ca: Path, username: str, password: str, *, forwarded: bool
             ) -> requests.Session:
    """A browser trusting the site's CA signs in. Behind nginx (``forwarded``: it says
    ``X-Forwarded-Proto https``) the session cookie must be Secure."""
    web = requests.Session()
    web.verify = str(ca)
    web.trust_env = False  # else REQUESTS_CA_BUNDLE, when set, replaces the CA given here
    web.headers["Referer"] = f"{base}/auth/login"  # a browser's, under Referrer-Policy same-origin
    page = web.get(f"{base}/auth/login", timeout=15).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert token, "no CSRF token on the sign-in page"
    resp = web.post(f"{base}/auth/login", timeout=15, allow_redirects=False,
                    data={"username": username, "password": password, "csrf_token": token[1]})
    assert resp.status_code == 302 and "/auth/login" not in resp.headers["Location"], resp.text
    if forwarded:
        assert "Secure" in resp.headers.get("Set-Cookie", ""), resp.headers
    return web


def _token(web: requests.Session, url: str) -> str:
    """The CSRF token of the form at ``url``, as a browser gets it."""
    page = web.get(url, timeout=15)
    assert page.status_code == 200, page.status_code
    token = re.search(r'name="csrf[-_]token" [^>]*(?:value|content)="([^"]+)"', page.text)
    assert token, f"no form at {url}"
    return token[1]


def _post_form(web: requests.Session, url: str, data: dict[str, str]) -> requests.Response:
    return web.post(url, data={**data, "csrf_token": _token(web, url)}, timeout=15,
                    allow_redirects=False)


def _employee(web: requests.Session, base: str, **fields: str) -> int:
    form = {"team": "0", "language": "fr", "moderation_mode": "", **fields}
    resp = _post_form(web, f"{base}/employees/new", form)
    assert resp.status_code == 302, resp.text
    return int(resp.headers["Location"].rstrip("/").rsplit("/", 1)[1])


def _terminal_add(site: Site, cmd: str) -> dict[str, str]:
    done = site.admin(cmd)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def _link(site: Site, terminal: str, password: str, host: str, port: int, ca: str) -> TerminalLink:
    link = TerminalLink(terminal=terminal, password=password, host=host, port=port,
                        outbox_path=site.root / f"outbox-{terminal}.db", tls_ca=ca)
    link.start()
    assert link.wait_connected(15), f"{terminal} did not connect over TLS"
    return link


def _broker_up(proc: subprocess.Popen[str]) -> None:
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert first.startswith("broker: terminals on"), first + proc.stdout.read()


def _walk(site: Site, front: contextlib.AbstractContextManager[int], *, forwarded: bool) -> None:
    # 2. The home, as root: init with the guide's flags, then the relais.toml edit.
    done = site.admin(INIT, cwd=site.home)
    assert done.returncode == 0, done.stderr
    owner = pwd.getpwnam(site.user).pw_uid
    toml = site.home / "relais.toml"
    assert toml.stat().st_uid == owner and toml.stat().st_mode & 0o077 == 0
    # The console's port: a free one, not 8470 (the nginx block's is substituted to match).
    _edit_toml(toml, site.typed(_guide_block("toml")) + f"console_port = {site.console_port}\n")
    done = site.admin(USER_ADD, stdin="Marie-pass-2026\nMarie-pass-2026\n")
    assert done.returncode == 0, done.stderr
    # 5.1: the site, the terminal; a terminal on a site that does not exist is one line.
    done = site.admin(SITE_ADD)
    assert done.returncode == 0, done.stderr
    wrong = site.admin(TERMINAL_ADD.replace("--site usine", "--site nulle-part"))
    assert "No site named 'nulle-part'" in _one_line(wrong)
    # 3. The services, from the units' ExecStart, as the service account.
    broker = site.start("relais-broker.service")
    _broker_up(broker)
    site.start("relais-relay@.service")
    console = site.start("relais-console.service")
    _wait_listening(site.console_port, console)
    with front as port:
        site.front_port = port
        base = f"https://localhost:{port}"
        creds = _terminal_add(site, TERMINAL_ADD)
        fingerprint = creds["ca_fingerprint"]
        kiosk_dir = site.root / "terminal"  # "another machine": its own directory
        kiosk_dir.mkdir()
        enrol = ENROL.replace("1A2B-3C4D-5E6F", creds["enrol_code"]).replace(
            "/etc/relais-kiosk", str(kiosk_dir / "etc"))
        # A wrong fingerprint: one line, nothing written, and the code still good.
        bad = site.admin(enrol.replace("3F:A0:…:9C", "AB" * 32), cwd=kiosk_dir)
        assert "fingerprint" in _one_line(bad) and "not the one given" in bad.stderr
        assert not (kiosk_dir / "etc" / "config.json").exists()
        done = site.admin(enrol.replace("3F:A0:…:9C", fingerprint), cwd=kiosk_dir)
        assert done.returncode == 0, done.stderr
        kiosk = json.loads((kiosk_dir / "etc" / "config.json").read_text(encoding="utf-8"))
        assert kiosk["terminal"] == "atelier-nord" and kiosk["api_url"] == base
        assert kiosk["mqtt_port"] == site.mqtt_port
        nord = _link(site, kiosk["terminal"], kiosk["password"], kiosk["mqtt_host"],
                     kiosk["mqtt_port"], kiosk["tls_ca"])
        try:
            # The console, through HTTPS, as the user `user add` made.
            ca = site.home / "tls" / "ca.pem"
            web = _sign_in(base, ca, "marie", "Marie-pass-2026", forwarded=forwarded)
            rule = web.post(f"{base}/contacts/rules", timeout=15, allow_redirects=False, data={
                "sender": "everyone", "recipient": "hr_desk", "allow_reply": "y",
                "csrf_token": _token(web, f"{base}/contacts/")})
            assert rule.status_code == 302
            _employee(web, base, name="Alice Martin", badge="1001", moderation_mode="none")
            rh = _employee(web, base, name="Bureau RH", badge="2001", is_hr_desk="y")
            sud_creds = _terminal_add(site, TERMINAL_ADD.replace("atelier-nord", "atelier-sud"))
            sud = _link(site, "atelier-sud", sud_creds["password"], kiosk["mqtt_host"],
                        site.mqtt_port, kiosk["tls_ca"])
            try:
                sud.login("2001")
                expect(sud, ev.LoginOk)
                nord.login("1001")
                expect(nord, ev.LoginOk)
                nord.send_text(rh, "Bonjour depuis l'atelier nord")
                got = expect(sud, ev.MessageArrived, timeout=30)
                assert got.message["text"] == "Bonjour depuis l'atelier nord"
            finally:
                sud.stop()
            # systemctl reload relais-broker: SIGHUP to the unit's main process.
            broker.send_signal(signal.SIGHUP)
            est = _terminal_add(site, TERMINAL_ADD.replace("atelier-nord", "atelier-est"))
            assert broker.poll() is None, "relais broker ended on SIGHUP"
            _link(site, "atelier-est", est["password"], kiosk["mqtt_host"], site.mqtt_port,
                  kiosk["tls_ca"]).stop()
            assert broker.poll() is None
        finally:
            nord.stop()
        # 6. Backup while the services run, then restore into a fresh home.
        done = site.admin(BACKUP_DIR)
        assert done.returncode == 0, done.stderr
        done = site.admin(BACKUP)
        assert done.returncode == 0, done.stderr
        archives = list(site.backups.glob("relais-*.tar.gz"))
        assert len(archives) == 1 and archives[0].stat().st_mode & 0o777 == 0o600
        site.stop_services()
        fresh = site.root / "lib" / "relais-restored"  # as useradd leaves a home: skel in it
        done = subprocess.run(["install", "-d", "-o", site.user, "-g", site.user, "-m", "0700",
                               str(fresh)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        done = subprocess.run(["runuser", "-u", site.user, "--", "cp", "-r", "/etc/skel/.",
                               str(fresh)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        restore = RESTORE.replace("/root/relais.tar.gz", str(archives[0]))
        done = site.admin(restore, home=fresh)
        assert done.returncode == 0, done.stderr
        used = site.admin(restore, home=fresh)  # again: the home is in use now
        assert "is not empty" in _one_line(used)
        done = site.admin(AUDIT_VERIFY, home=fresh)
        assert done.returncode == 0, done.stderr
        broker = site.start("relais-broker.service", home=fresh)
        _broker_up(broker)
        console = site.start("relais-console.service", home=fresh)
        _wait_listening(site.console_port, console)
        _sign_in(base, fresh / "tls" / "ca.pem", "marie", "Marie-pass-2026", forwarded=forwarded)


def test_the_guide_on_this_machine(machine: Site) -> None:
    """Quick variant: tests/tls_front.py plays nginx."""
    _walk(machine, _python_front(machine), forwarded=False)


@pytest.mark.long
def test_the_guide_behind_a_real_nginx(machine: Site) -> None:
    """Long variant: the guide's nginx block, served by nginx (make test-long installs it)."""
    if shutil.which("nginx", path=SYSTEM_PATH) is None:
        pytest.skip("nginx is not installed (make test-long installs nginx-light)")
    _walk(machine, _nginx_front(machine), forwarded=True)
