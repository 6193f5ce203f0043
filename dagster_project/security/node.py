"""What `siem opensearch up --secure` adds to the plain node: certificates, security config, securityadmin.

The secure node has its own home (SIEM_HOME/secure) and port (SIEM_OPENSEARCH_SECURE_PORT): the security
plugin is installed only there, so the plain node under SIEM_HOME never changes and both can run at once.
"""

from __future__ import annotations

import base64
import json
import os
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from dagster_project.cluster import SECURITY_PLUGIN
from dagster_project.errors import NodeError
from dagster_project.security.certificates import CertificatePaths, ensure_certificates, install_node_material
from dagster_project.security.config import CERTS_DIR, SECURITY_CONFIG_DIR, write_security_config
from dagster_project.security.users import Credential, credentials, load_users

SECURITYADMIN_TIMEOUT = 300
LOGIN_TIMEOUT = 90.0


def secure_home(siem_home: Path) -> Path:
    """Where the secure node lives: its own distribution, data, logs and certificates."""
    return siem_home / "secure"


def certificate_dir(home: Path) -> Path:
    """The certificate store of the secure node whose home is `home`."""
    return home / "certs"


def checked_credentials() -> list[Credential]:
    """The users whose passwords are set; ConfigurationError when the admin's is unset or any is weak."""
    return credentials(load_users())


def admin_credential(creds: list[Credential]) -> Credential:
    """The required (administrator) user's credential."""
    for cred in creds:
        if cred.spec.required:
            return cred
    raise NodeError("users.yml names no required (administrator) user", where="security/users.yml")


def prepare(home: Path, node_home: Path, creds: list[Credential]) -> tuple[CertificatePaths, str]:
    """Certificates (kept or created, the node's copied into its config dir) and config/opensearch-security/.

    Returns the certificate paths and the digest of the security config written.
    """
    certs = ensure_certificates(certificate_dir(home))
    config_dir = node_home / "config"
    install_node_material(certs, config_dir / CERTS_DIR)
    return certs, write_security_config(config_dir, creds)


def admin_context(certs: CertificatePaths) -> ssl.SSLContext | None:
    """A TLS context trusting the suite's CA and presenting the admin certificate; None before it exists."""
    if not (certs.ca.is_file() and certs.admin.is_file() and certs.admin_key.is_file()):
        return None
    context = ssl.create_default_context(cafile=str(certs.ca))
    context.load_cert_chain(str(certs.admin), str(certs.admin_key))
    return context


def login_status(url: str, certs: CertificatePaths, cred: Credential) -> int:
    """The HTTP status of an authinfo request with this user's basic auth (0: no answer)."""
    context = ssl.create_default_context(cafile=str(certs.ca))
    token = base64.b64encode(f"{cred.spec.name}:{cred.password}".encode()).decode()
    headers = {"Authorization": f"Basic {token}"}
    request = urllib.request.Request(f"{url}/_plugins/_security/authinfo", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10, context=context) as response:
            json.loads(response.read())
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError, ValueError):
        return 0


def wait_for_login(url: str, certs: CertificatePaths, cred: Credential, timeout: float = LOGIN_TIMEOUT) -> bool:
    """Poll until the user can log in (True) or is refused with 401/403 or the deadline passes (False).

    503 means the security index is not initialised yet, so it is waited for, like no answer at all.
    """
    deadline = time.monotonic() + timeout
    while True:
        status = login_status(url, certs, cred)
        if status == 200:
            return True
        if status in (401, 403) or time.monotonic() > deadline:
            return False
        time.sleep(0.5)


def run_securityadmin(node_home: Path, certs: CertificatePaths, port: int, jdk: Path) -> None:
    """Load config/opensearch-security/ into the running node: the plugin's securityadmin.sh, admin cert."""
    tool = node_home / "plugins" / SECURITY_PLUGIN / "tools" / "securityadmin.sh"
    command = [
        "bash",
        str(tool),
        "-cd",
        str(node_home / "config" / SECURITY_CONFIG_DIR),
        "-icl",
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
        "-cacert",
        str(certs.ca),
        "-cert",
        str(certs.admin),
        "-key",
        str(certs.admin_key),
    ]
    env = dict(os.environ, JAVA_HOME=str(jdk), OPENSEARCH_JAVA_HOME=str(jdk))
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, env=env, timeout=SECURITYADMIN_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise NodeError(f"securityadmin.sh timed out after {SECURITYADMIN_TIMEOUT}s", where=str(tool)) from exc
    if done.returncode != 0:
        output = (done.stdout + done.stderr).strip()[-1500:]
        raise NodeError(f"securityadmin.sh failed (exit {done.returncode}):\n{output}", where=str(tool))


def apply_config(
    *,
    url: str,
    port: int,
    node_home: Path,
    certs: CertificatePaths,
    creds: list[Credential],
    digest: str,
    recorded_digest: str | None,
    fresh: bool,
    jdk: Path,
) -> bool:
    """Make the running node use the security config just written; True when securityadmin.sh had to run.

    A fresh node loads it at first start (allow_default_init_securityindex); a node whose config is
    already the recorded one needs nothing; otherwise securityadmin.sh pushes it (e.g. a changed password).
    """
    admin = admin_credential(creds)
    if (fresh or digest == recorded_digest) and wait_for_login(url, certs, admin):
        return False
    run_securityadmin(node_home, certs, port, jdk)
    if not wait_for_login(url, certs, admin):
        raise NodeError(
            f"user {admin.spec.name!r} cannot log in after securityadmin.sh loaded the config",
            where=url,
        )
    return True
