"""TLS for the receivers: the operator's certificate and key, or one issued by the suite's own CA.

The suite's CA is the secure node's (SIEM_HOME/secure/certs/ca.pem): senders trust that one file for the
node and the collector alike. Client certificates are verified, when asked for, against
SIEM_COLLECT_TLS_CLIENT_CA or that same CA.
"""

from __future__ import annotations

import socket
import ssl
from pathlib import Path

from dagster_project.errors import ConfigurationError
from dagster_project.security.certificates import NODE_HOSTS, CertificatePaths, ensure_leaf
from dagster_project.security.node import certificate_dir, secure_home
from dagster_project.settings import CollectSettings
from dagster_project.storage import naming

COLLECTOR_STEM = "collector"


def suite_certificates(home: Path) -> CertificatePaths:
    """Where the suite's CA (under SIEM_HOME `home`) and the certificates it issued are."""
    return CertificatePaths(certificate_dir(secure_home(home)))


def collector_hosts(listen_hosts: list[str]) -> tuple[str, ...]:
    """The names a collector certificate must carry: loopback, this host's names, and the listeners' hosts."""
    names = list(NODE_HOSTS)
    for name in (socket.gethostname(), socket.getfqdn(), *listen_hosts):
        if name and name not in ("0.0.0.0", "::") and name not in names:
            names.append(name)
    return tuple(names)


def certificate_pair(settings: CollectSettings, home: Path, listen_hosts: list[str]) -> tuple[Path, Path]:
    """(certificate, key): the operator's when both are set, else the suite CA's collector certificate."""
    cert, key = settings.collect_tls_cert.strip(), settings.collect_tls_key.strip()
    if bool(cert) != bool(key):
        raise ConfigurationError("set both or neither", where="SIEM_COLLECT_TLS_CERT/SIEM_COLLECT_TLS_KEY")
    if cert:
        return Path(cert), Path(key)
    return ensure_leaf(
        suite_certificates(home), COLLECTOR_STEM, naming.COLLECTOR_COMMON_NAME, hosts=collector_hosts(listen_hosts)
    )


def server_context(settings: CollectSettings, home: Path, listen_hosts: list[str]) -> ssl.SSLContext:
    """A TLS 1.2+ server context with the collector's certificate and the configured client verification."""
    cert, key = certificate_pair(settings, home, listen_hosts)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    # No TLS 1.3 session tickets: a sender that never reads (rsyslog's omfwd) would close with them unread,
    # and a close with unread data is a reset that discards what it had just written.
    context.num_tickets = 0
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigurationError(f"cannot load the certificate and key: {exc}", where=str(cert)) from exc
    mode = settings.collect_tls_client_auth
    if mode != "none":
        ca = settings.collect_tls_client_ca.strip() or str(suite_certificates(home).ca)
        try:
            context.load_verify_locations(cafile=ca)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigurationError(f"cannot load the client CA: {exc}", where=ca) from exc
        context.verify_mode = ssl.CERT_REQUIRED if mode == "required" else ssl.CERT_OPTIONAL
    return context
