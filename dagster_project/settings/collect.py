"""SIEM_SYSLOG_*, SIEM_HTTP_* and SIEM_COLLECT_TLS_*: the live-collection listeners, their sources, token and TLS."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from dagster_project.settings.base import SuiteSettings
from dagster_project.sources.linux_auth import NAME as DEFAULT_SYSLOG_SOURCE


class CollectSettings(SuiteSettings):
    """The receivers of `siem serve`: every listener is off unless set; a bare PORT binds to 127.0.0.1."""

    model_config = SettingsConfigDict(env_prefix="SIEM_")

    syslog_udp: str = ""
    """SIEM_SYSLOG_UDP: HOST:PORT of the syslog UDP listener (empty = off)."""
    syslog_tcp: str = ""
    """SIEM_SYSLOG_TCP: HOST:PORT of the syslog TCP listener (RFC 6587 framing; empty = off)."""
    syslog_tls: str = ""
    """SIEM_SYSLOG_TLS: HOST:PORT of the syslog TLS listener (RFC 5425; empty = off)."""
    http_listen: str = ""
    """SIEM_HTTP_LISTEN: HOST:PORT of `POST /v1/logs/<source>` (empty = off)."""
    syslog_udp_source: str = DEFAULT_SYSLOG_SOURCE
    """SIEM_SYSLOG_UDP_SOURCE: the source the UDP listener's messages feed."""
    syslog_tcp_source: str = DEFAULT_SYSLOG_SOURCE
    """SIEM_SYSLOG_TCP_SOURCE: the source the TCP listener's messages feed."""
    syslog_tls_source: str = DEFAULT_SYSLOG_SOURCE
    """SIEM_SYSLOG_TLS_SOURCE: the source the TLS listener's messages feed."""
    http_token: SecretStr = SecretStr("")
    """SIEM_HTTP_TOKEN: bearer token HTTP senders must present; without one HTTP refuses a non-loopback address."""
    http_max_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    """SIEM_HTTP_MAX_BODY_BYTES: largest (decompressed) body accepted; larger ones get 413."""
    http_tls: bool = False
    """SIEM_HTTP_TLS: serve HTTPS (with the collector certificate) instead of HTTP."""
    collect_tls_cert: str = ""
    """SIEM_COLLECT_TLS_CERT: the operator's certificate (PEM, chain allowed); empty = one from the suite's CA."""
    collect_tls_key: str = ""
    """SIEM_COLLECT_TLS_KEY: the key of SIEM_COLLECT_TLS_CERT (both or neither)."""
    collect_tls_client_auth: Literal["none", "optional", "required"] = "none"
    """SIEM_COLLECT_TLS_CLIENT_AUTH: client certificates: none, optional or required."""
    collect_tls_client_ca: str = ""
    """SIEM_COLLECT_TLS_CLIENT_CA: CA file that verifies client certificates; empty = the suite's own CA."""

    def as_env(self) -> dict[str, str]:
        """These settings as environment variables (how `siem serve` hands its flags to the receiver)."""
        env = {}
        for name, variable in self.env_names().items():
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            env[variable] = str(value).lower() if isinstance(value, bool) else str(value)
        return env
