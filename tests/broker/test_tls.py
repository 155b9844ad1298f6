"""``relais init --tls``: the terminals' listener speaks TLS with a certificate from the
home's local CA; a terminal that trusts that CA works end to end, anything else is refused."""

from __future__ import annotations

import json
import socket
import ssl

from click.testing import CliRunner
from cryptography import x509

from broker_config.ports import free_port
from broker_config.tls import make_local_ca
from hr_console import config as config_mod
from hr_console.cli import main
from hr_console.cli.home import broker_process
from hr_console.relay.mqtt import Relay
from hr_console.store.db import Store
from kiosk_app.link import events as ev
from kiosk_app.link.client import TerminalLink
from tests.system_fixture import expect


def _cli(home, port, *args):  # noqa: ANN001, ANN202
    result = CliRunner().invoke(main, ["--home", str(home), "--mqtt-port", str(port), *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_a_terminal_that_trusts_the_local_ca_badges_in_over_tls(tmp_path):
    home, port = tmp_path / "home", free_port()
    out = _cli(home, port, "init", "--tls", "--tls-host", "127.0.0.1", "--tls-host", "localhost")
    assert "TLS" in out
    _cli(home, port, "demo-data", "--password", "demo-password-1")
    kiosk = json.loads((home / "kiosks" / "kiosk-1" / "config.json").read_text())
    assert kiosk["tls_ca"] and kiosk["tls_ca"].endswith("ca.pem")
    conf = (home / "broker" / "mosquitto.conf").read_text()
    assert "certfile" in conf and "keyfile" in conf

    cfg = config_mod.load(home, mqtt_port=port)
    broker = broker_process(cfg)
    broker.start()
    store = Store(cfg.database_url)
    relay = Relay(cfg, store)
    relay.start()
    links: list[TerminalLink] = []
    try:
        # The listener presents a certificate signed by the home's CA, for the name asked.
        ctx = ssl.create_default_context(cafile=kiosk["tls_ca"])
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, \
                ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            cert = x509.load_der_x509_certificate(tls.getpeercert(binary_form=True))
            assert "Relais local CA" in cert.issuer.rfc4514_string()

        good = TerminalLink(terminal="kiosk-1", password=kiosk["password"], host="127.0.0.1",
                            port=port, outbox_path=tmp_path / "o1.db", tls_ca=kiosk["tls_ca"])
        links.append(good)
        good.start()
        assert good.wait_connected(10)
        good.login("1001")
        expect(good, ev.LoginOk)

        plain = TerminalLink(terminal="kiosk-1", password=kiosk["password"], host="127.0.0.1",
                             port=port, outbox_path=tmp_path / "o2.db")
        links.append(plain)
        plain.start()
        assert not plain.wait_connected(3), "a plain-TCP client must not get through"

        other_ca = make_local_ca(tmp_path / "other", ["127.0.0.1"])
        stranger = TerminalLink(terminal="kiosk-1", password=kiosk["password"], host="127.0.0.1",
                                port=port, outbox_path=tmp_path / "o3.db", tls_ca=str(other_ca.ca_cert))
        links.append(stranger)
        stranger.start()
        assert not stranger.wait_connected(3), "a client trusting another CA must refuse the broker"
    finally:
        for link in links:
            link.stop()
        relay.stop()
        broker.stop()
        store.dispose()


def test_the_ca_is_kept_when_init_runs_again(tmp_path):
    first = make_local_ca(tmp_path, ["relais.example", "10.0.0.5"])
    ca_before = first.ca_cert.read_bytes()
    second = make_local_ca(tmp_path, ["relais.example", "10.0.0.6"])
    assert second.ca_cert.read_bytes() == ca_before
    cert = x509.load_pem_x509_certificate(second.cert.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "relais.example" in san.get_values_for_type(x509.DNSName)
    assert [str(a) for a in san.get_values_for_type(x509.IPAddress)] == ["10.0.0.6"]
    assert oct(second.key.stat().st_mode & 0o777) == "0o600"
    assert oct((tmp_path / "ca.key").stat().st_mode & 0o777) == "0o600"
