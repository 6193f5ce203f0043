"""The secure node's own PKI: a CA, a node certificate (HTTP and transport TLS), an admin client certificate.

Keys are RSA 3072 in unencrypted PKCS#8 PEM (what the security plugin and securityadmin.sh read), written
0600; certificates 0644. Nothing here is the plugin's demo material: every key is generated on first use.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from dagster_project.errors import ConfigurationError
from dagster_project.storage import naming

log = logging.getLogger(__name__)

KEY_BITS = 3072
CA_DAYS = 3650
LEAF_DAYS = 825
RENEW_BEFORE = dt.timedelta(days=30)
ORGANIZATION = naming.SUITE
NODE_HOSTS = ("localhost", "127.0.0.1", "::1")


def _name(common_name: str, unit: str) -> x509.Name:
    # O, OU, CN in ASN.1 order reads "CN=...,OU=...,O=..." in RFC 4514/2253: how the plugin compares DNs.
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


CA_SUBJECT = _name(naming.CA_COMMON_NAME, "ca")
NODE_SUBJECT = _name(naming.NODE_COMMON_NAME, "node")
ADMIN_SUBJECT = _name(naming.ADMIN_COMMON_NAME, "admin")


def node_dn() -> str:
    """The node certificate's DN as `plugins.security.nodes_dn` expects it."""
    return NODE_SUBJECT.rfc4514_string()


def admin_dn() -> str:
    """The admin certificate's DN as `plugins.security.authcz.admin_dn` expects it."""
    return ADMIN_SUBJECT.rfc4514_string()


@dataclass(frozen=True)
class CertificatePaths:
    """Where the CA, node and admin certificates and keys are."""

    directory: Path

    @property
    def ca(self) -> Path:
        """The CA certificate: give it to clients as OPENSEARCH_CA_CERTS."""
        return self.directory / "ca.pem"

    @property
    def ca_key(self) -> Path:
        """The CA's private key (never leaves this directory)."""
        return self.directory / "ca-key.pem"

    @property
    def node(self) -> Path:
        """The node certificate (HTTP and transport)."""
        return self.directory / "node.pem"

    @property
    def node_key(self) -> Path:
        """The node's private key."""
        return self.directory / "node-key.pem"

    @property
    def admin(self) -> Path:
        """The admin client certificate (securityadmin.sh, health probes)."""
        return self.directory / "admin.pem"

    @property
    def admin_key(self) -> Path:
        """The admin client's private key."""
        return self.directory / "admin-key.pem"


def ensure_certificates(directory: Path, *, now: dt.datetime | None = None) -> CertificatePaths:
    """Create the CA and the node and admin certificates when missing, invalid or within 30 days of expiry.

    Idempotent: valid material is kept as it is, so the CA that clients trust stays the same across runs.
    A new CA re-issues both leaf certificates.
    """
    now = now or dt.datetime.now(dt.UTC)
    paths = CertificatePaths(directory)
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o755)
    ca_cert, ca_key = _load_pair(paths.ca, paths.ca_key)
    renewed_ca = False
    if ca_cert is None or ca_key is None or not _current(ca_cert, now):
        log.info("generating a new CA in %s", directory)
        ca_key = _new_key()
        ca_cert = _issue_ca(ca_key, now)
        _write_key(paths.ca_key, ca_key)
        _write_cert(paths.ca, ca_cert)
        renewed_ca = True
    leaves = (
        (paths.node, paths.node_key, NODE_SUBJECT, True),
        (paths.admin, paths.admin_key, ADMIN_SUBJECT, False),
    )
    for cert_path, key_path, subject, server in leaves:
        cert, key = _load_pair(cert_path, key_path)
        if renewed_ca or cert is None or key is None or not _valid_leaf(cert, key, ca_cert, subject, now):
            log.info("issuing %s", subject.rfc4514_string())
            key = _new_key()
            _write_key(key_path, key)
            _write_cert(cert_path, _issue_leaf(subject, key, ca_cert, ca_key, now, server=server))
    return paths


def ensure_leaf(
    paths: CertificatePaths,
    stem: str,
    common_name: str,
    *,
    hosts: tuple[str, ...] = NODE_HOSTS,
    server: bool = True,
    now: dt.datetime | None = None,
) -> tuple[Path, Path]:
    """A certificate and key issued by the suite's CA as `<stem>.pem` / `<stem>-key.pem` (server: with `hosts`).

    Kept while valid, issued by the current CA and (for a server) naming every host; re-issued otherwise.
    The CA is created first when missing (`ensure_certificates`).
    """
    now = now or dt.datetime.now(dt.UTC)
    ensure_certificates(paths.directory, now=now)
    ca_cert, ca_key = _load_pair(paths.ca, paths.ca_key)
    assert ca_cert is not None and ca_key is not None
    cert_path, key_path = paths.directory / f"{stem}.pem", paths.directory / f"{stem}-key.pem"
    subject = _name(common_name, stem)
    cert, key = _load_pair(cert_path, key_path)
    if (
        cert is None
        or key is None
        or not _valid_leaf(cert, key, ca_cert, subject, now)
        or (server and not _names_hosts(cert, hosts))
    ):
        log.info("issuing %s", subject.rfc4514_string())
        key = _new_key()
        _write_key(key_path, key)
        _write_cert(cert_path, _issue_leaf(subject, key, ca_cert, ca_key, now, server=server, hosts=hosts))
    return cert_path, key_path


def _names_hosts(cert: x509.Certificate, hosts: tuple[str, ...]) -> bool:
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return not hosts
    present = {str(n) for n in names.get_values_for_type(x509.IPAddress)} | set(names.get_values_for_type(x509.DNSName))
    return all(str(ipaddress.ip_address(h)) in present if _is_ip(h) else h in present for h in hosts)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def install_node_material(paths: CertificatePaths, target: Path) -> None:
    """Copy the CA certificate and the node's certificate and key into the node's config dir (key 0600)."""
    target.mkdir(parents=True, exist_ok=True)
    target.chmod(0o750)
    for source, mode in ((paths.ca, 0o644), (paths.node, 0o644), (paths.node_key, 0o600)):
        destination = target / source.name
        tmp = destination.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        shutil.copyfile(source, tmp)
        tmp.chmod(mode)
        tmp.replace(destination)


def load_certificate(path: Path) -> x509.Certificate:
    """A PEM certificate; ConfigurationError naming the file when it cannot be read."""
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"not a readable PEM certificate: {exc}", where=str(path)) from exc


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)


def _load_pair(cert_path: Path, key_path: Path) -> tuple[x509.Certificate | None, rsa.RSAPrivateKey | None]:
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError):
        return None, None
    if not isinstance(key, rsa.RSAPrivateKey):
        return None, None
    return cert, key


def _current(cert: x509.Certificate, now: dt.datetime) -> bool:
    return cert.not_valid_before_utc <= now and cert.not_valid_after_utc - RENEW_BEFORE > now


def _valid_leaf(
    cert: x509.Certificate, key: rsa.RSAPrivateKey, ca: x509.Certificate, subject: x509.Name, now: dt.datetime
) -> bool:
    if cert.subject != subject or cert.issuer != ca.subject or not _current(cert, now):
        return False
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    if cert.public_key().public_bytes(serialization.Encoding.DER, spki) != key.public_key().public_bytes(
        serialization.Encoding.DER, spki
    ):
        return False
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _builder(
    subject: x509.Name, issuer: x509.Name, key: rsa.RSAPrivateKey, now: dt.datetime, days: int
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )


def _issue_ca(key: rsa.RSAPrivateKey, now: dt.datetime) -> x509.Certificate:
    builder = (
        _builder(CA_SUBJECT, CA_SUBJECT, key, now, CA_DAYS)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    return builder.sign(key, hashes.SHA256())


def _issue_leaf(
    subject: x509.Name,
    key: rsa.RSAPrivateKey,
    ca: x509.Certificate,
    ca_key: rsa.RSAPrivateKey,
    now: dt.datetime,
    *,
    server: bool,
    hosts: tuple[str, ...] = NODE_HOSTS,
) -> x509.Certificate:
    usages = [ExtendedKeyUsageOID.CLIENT_AUTH]
    if server:
        # The node is both server and client on the transport layer.
        usages.insert(0, ExtendedKeyUsageOID.SERVER_AUTH)
    builder = (
        _builder(subject, ca.subject, key, now, LEAF_DAYS)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
    )
    if server:
        names: list[x509.GeneralName] = []
        for host in hosts:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                names.append(x509.DNSName(host))
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(ca_key, hashes.SHA256())


def _write_key(path: Path, key: rsa.RSAPrivateKey) -> None:
    pem = key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    )
    _write(path, pem, 0o600)


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    _write(path, cert.public_bytes(serialization.Encoding.PEM), 0o644)


def _write(path: Path, data: bytes, mode: int) -> None:
    # Created with its final mode, so a key is never readable by others, not even for a moment.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.chmod(tmp, mode)
    tmp.replace(path)
