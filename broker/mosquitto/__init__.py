"""Production broker: Mosquitto 2.0 configured for one hall.

The embedded amqtt broker (`broker.embedded`) suits one-box halls and
development; a real hall runs Mosquitto, set up from here:

- **TLS with the hall CA** (`certs`). Each hall has its own CA; devices trust
  only it and verify the broker's certificate (its names and IPs are SANs).
  Client certificates (CN = device id) can be required on top of passwords.
- **Per-device credentials** (`passwd`). Every device logs in as its id, the
  hub as ``hub``; passwords are derived from the hall secret
  (`broker.credentials.mqtt_password`), so nothing but the secret needs backing
  up. No anonymous access on any listener.
- **ACL from the registry** (`acl`), rendered from `broker.contract.acl_rules`
  for the hub and every registered device: a device writes only its own
  status, health, events and results; only the hub writes ``cmd``, ``ack`` and
  ``config``. The embedded broker enforces the same rules.
- **Sessions that survive restarts** (`conf`): persistence on, bounded queues
  for offline QoS 1 sessions, packets capped just above MAX_PAYLOAD_BYTES.

`write_config(out_dir, hall=..., secret=..., device_ids=[...])` writes it all;
then ``mosquitto -c out_dir/mosquitto.conf``. After registering a device,
regenerate and send SIGHUP: Mosquitto rereads the password file and ACL.
"""

from broker.mosquitto.acl import render_acl, write_acl_file
from broker.mosquitto.certs import (
    CaPaths,
    CertPaths,
    HallCerts,
    generate_ca,
    issue_client_cert,
    issue_server_cert,
    write_certs,
)
from broker.mosquitto.conf import TlsListener, render_config, write_config
from broker.mosquitto.passwd import hash_password, verify_password, write_password_file

__all__ = [
    "CaPaths",
    "CertPaths",
    "HallCerts",
    "TlsListener",
    "generate_ca",
    "hash_password",
    "issue_client_cert",
    "issue_server_cert",
    "render_acl",
    "render_config",
    "verify_password",
    "write_acl_file",
    "write_certs",
    "write_config",
    "write_password_file",
]
