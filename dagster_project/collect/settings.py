"""Live-collection settings: listeners (SIEM_SYSLOG_UDP/TCP/TLS, SIEM_HTTP_LISTEN), the spool, TLS and the token."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from dagster_project.errors import ConfigurationError
from dagster_project.settings import LOCAL_HOST, NodeSettings

TRANSPORTS = ("udp", "tcp", "tls", "http")
DEFAULT_SYSLOG_SOURCE = "linux-auth"


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
    """One configured listener: its transport, address and the source its records feed."""

    transport: str
    address: Address
    source: str

    @property
    def name(self) -> str:
        """`syslog-udp`, `syslog-tcp`, `syslog-tls` or `http`."""
        return "http" if self.transport == "http" else f"syslog-{self.transport}"


class CollectSettings(BaseSettings):
    """Receivers and spool. Every listener is off unless set; a bare port binds to 127.0.0.1."""

    model_config = SettingsConfigDict(env_prefix="SIEM_", extra="ignore")

    syslog_udp: str = ""
    syslog_tcp: str = ""
    syslog_tls: str = ""
    http_listen: str = ""
    syslog_udp_source: str = DEFAULT_SYSLOG_SOURCE
    syslog_tcp_source: str = DEFAULT_SYSLOG_SOURCE
    syslog_tls_source: str = DEFAULT_SYSLOG_SOURCE
    http_token: SecretStr = SecretStr("")
    """Bearer token for HTTP; without one the HTTP listener refuses a non-loopback address."""
    http_max_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    """Largest (decompressed) body accepted; larger ones get 413."""
    http_tls: bool = False
    collect_tls_cert: str = ""
    """The operator's certificate (PEM, chain allowed); empty = one issued by the suite's own CA."""
    collect_tls_key: str = ""
    collect_tls_client_auth: str = "none"
    """Client certificates: none, optional or required (verified against SIEM_COLLECT_TLS_CLIENT_CA)."""
    collect_tls_client_ca: str = ""
    """CA file for client certificates; empty = the suite's own CA."""
    spool_dir: Path | None = None
    """Default SIEM_HOME/spool."""
    spool_segment_seconds: float = Field(default=5.0, gt=0)
    spool_segment_bytes: int = Field(default=64 * 1024 * 1024, ge=4096)
    spool_max_bytes: int = Field(default=1024**3, ge=65536)
    spool_fsync: str = "batch"
    """`batch`: fsync before every acknowledgement; `<N>ms`: at most every N ms (acknowledge after the write)."""
    spool_archive_dir: Path | None = None
    """Where ingested segments are moved; unset = they are deleted once their run reconciled."""

    @field_validator("collect_tls_client_auth")
    @classmethod
    def _client_auth(cls, value: str) -> str:
        if value not in ("none", "optional", "required"):
            raise ValueError("SIEM_COLLECT_TLS_CLIENT_AUTH must be none, optional or required")
        return value

    @field_validator("spool_fsync")
    @classmethod
    def _fsync(cls, value: str) -> str:
        if value != "batch" and not (value.endswith("ms") and value[:-2].isdigit() and int(value[:-2]) > 0):
            raise ValueError("SIEM_SPOOL_FSYNC must be `batch` or a positive interval such as `100ms`")
        return value

    @property
    def fsync_interval(self) -> float | None:
        """Seconds between fsyncs, or None for fsync before every acknowledgement."""
        return None if self.spool_fsync == "batch" else int(self.spool_fsync[:-2]) / 1000

    @property
    def spool_path(self) -> Path:
        """The spool directory."""
        return self.spool_dir or NodeSettings().home / "spool"

    def as_env(self) -> dict[str, str]:
        """These settings as SIEM_* environment variables (how `siem serve` hands its flags to the receiver)."""
        env = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            env[f"SIEM_{name.upper()}"] = str(value).lower() if isinstance(value, bool) else str(value)
        return env

    def listeners(self) -> list[Listener]:
        """The configured listeners, in a stable order; ConfigurationError for a bad address or an open HTTP port."""
        configured = (
            ("udp", self.syslog_udp, self.syslog_udp_source, "SIEM_SYSLOG_UDP"),
            ("tcp", self.syslog_tcp, self.syslog_tcp_source, "SIEM_SYSLOG_TCP"),
            ("tls", self.syslog_tls, self.syslog_tls_source, "SIEM_SYSLOG_TLS"),
            ("http", self.http_listen, "", "SIEM_HTTP_LISTEN"),
        )
        found = []
        for transport, value, source, where in configured:
            if value.strip():
                found.append(Listener(transport, Address.parse(value, where=where), source))
        for listener in found:
            if (
                listener.transport == "http"
                and not listener.address.loopback
                and not self.http_token.get_secret_value()
            ):
                raise ConfigurationError(
                    f"refusing to listen on {listener.address} without SIEM_HTTP_TOKEN", where="SIEM_HTTP_LISTEN"
                )
        return found
