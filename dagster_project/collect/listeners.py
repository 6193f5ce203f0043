"""The configured listeners: each SIEM_SYSLOG_* / SIEM_HTTP_LISTEN value parsed into a transport, address and source."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from dagster_project.errors import ConfigurationError
from dagster_project.settings import LOCAL_HOST, CollectSettings

TRANSPORTS = ("udp", "tcp", "tls", "http")


@dataclass(frozen=True)
class Address:
    """A listener's HOST:PORT; a bare PORT binds to 127.0.0.1."""

    host: str
    port: int

    @classmethod
    def parse(cls, text: str, *, where: str) -> Address:
        """`HOST:PORT`, `[v6]:PORT` or `PORT`; ConfigurationError naming the setting otherwise."""
        value = text.strip()
        host, _, port = value.rpartition(":")
        if not host:
            host = LOCAL_HOST
        host = host.strip("[]")
        if not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ConfigurationError(f"expected HOST:PORT, got {text!r}", where=where)
        return cls(host, int(port))

    @property
    def loopback(self) -> bool:
        """True when only this machine can connect (127.0.0.0/8, ::1, localhost)."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Listener:
    """One configured listener: its transport, address and the source its records feed (HTTP: from the URL)."""

    transport: str
    address: Address
    source: str

    @property
    def name(self) -> str:
        """`syslog-udp`, `syslog-tcp`, `syslog-tls` or `http`."""
        return "http" if self.transport == "http" else f"syslog-{self.transport}"


def configured_listeners(settings: CollectSettings) -> list[Listener]:
    """The configured listeners, in a stable order; ConfigurationError for a bad address or an open HTTP port."""
    names = settings.env_names()
    configured = (
        ("udp", settings.syslog_udp, settings.syslog_udp_source, names["syslog_udp"]),
        ("tcp", settings.syslog_tcp, settings.syslog_tcp_source, names["syslog_tcp"]),
        ("tls", settings.syslog_tls, settings.syslog_tls_source, names["syslog_tls"]),
        ("http", settings.http_listen, "", names["http_listen"]),
    )
    found = [
        Listener(transport, Address.parse(value, where=where), source)
        for transport, value, source, where in configured
        if value.strip()
    ]
    for listener in found:
        if (
            listener.transport == "http"
            and not listener.address.loopback
            and not settings.http_token.get_secret_value()
        ):
            raise ConfigurationError(
                f"refusing to listen on {listener.address} without {names['http_token']}", where=names["http_listen"]
            )
    return found
