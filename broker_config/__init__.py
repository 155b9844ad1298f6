"""Mosquitto configuration for Relais: credentials, ACL, listeners and the broker process.

The broker is configured from the database, never by hand: ``render`` projects accounts into
mosquitto.conf, a ``$7$`` password file and a ``%u``-keyed ACL; ``reload`` applies them live.
"""

from broker_config.passwords import hash_password, new_password, verify_password
from broker_config.ports import free_port
from broker_config.process import BrokerProcess
from broker_config.render import RELAY_GRANTS, Account, BrokerSettings, Grant, reload, render

__all__ = [
    "RELAY_GRANTS",
    "Account",
    "Grant",
    "BrokerProcess",
    "BrokerSettings",
    "free_port",
    "hash_password",
    "new_password",
    "reload",
    "render",
    "verify_password",
]
