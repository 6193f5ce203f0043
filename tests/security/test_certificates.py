"""The suite's own PKI: a verifiable chain, the DNs the node expects, 0600 keys, idempotent renewal."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from dagster_project.security.certificates import (
    CertificatePaths,
    admin_dn,
    ensure_certificates,
    install_node_material,
    load_certificate,
    node_dn,
)

NOW = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _snapshot(paths: CertificatePaths) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(paths.directory.iterdir())}


def test_chain_dns_and_usages(tmp_path: Path) -> None:
    paths = ensure_certificates(tmp_path / "certs", now=NOW)
    ca, node, admin = (load_certificate(p) for p in (paths.ca, paths.node, paths.admin))
    node.verify_directly_issued_by(ca)
    admin.verify_directly_issued_by(ca)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert node.subject.rfc4514_string() == node_dn() == "CN=siem-node,OU=node,O=siem-suite"
    assert admin.subject.rfc4514_string() == admin_dn() == "CN=siem-admin,OU=admin,O=siem-suite"
    names = node.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in names.get_values_for_type(x509.DNSName)
    assert {str(ip) for ip in names.get_values_for_type(x509.IPAddress)} >= {"127.0.0.1"}
    node_usage = node.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH} <= set(node_usage)
    admin_usage = admin.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(admin_usage) == [ExtendedKeyUsageOID.CLIENT_AUTH]


def test_keys_are_0600_and_pkcs8(tmp_path: Path) -> None:
    paths = ensure_certificates(tmp_path / "certs", now=NOW)
    for key in (paths.ca_key, paths.node_key, paths.admin_key):
        assert _mode(key) == 0o600, key
        assert key.read_text().startswith("-----BEGIN PRIVATE KEY-----"), key
    for cert in (paths.ca, paths.node, paths.admin):
        assert _mode(cert) == 0o644, cert
    assert not [p for p in paths.directory.iterdir() if p.name.endswith(".tmp")]


def test_second_run_keeps_everything(tmp_path: Path) -> None:
    paths = ensure_certificates(tmp_path / "certs", now=NOW)
    before = _snapshot(paths)
    ensure_certificates(tmp_path / "certs", now=NOW + dt.timedelta(days=100))
    assert _snapshot(paths) == before


def test_leaves_renew_before_expiry_and_the_ca_stays(tmp_path: Path) -> None:
    paths = ensure_certificates(tmp_path / "certs", now=NOW)
    before = _snapshot(paths)
    later = NOW + dt.timedelta(days=800)
    ensure_certificates(tmp_path / "certs", now=later)
    after = _snapshot(paths)
    assert after["ca.pem"] == before["ca.pem"] and after["ca-key.pem"] == before["ca-key.pem"]
    assert after["node.pem"] != before["node.pem"] and after["admin-key.pem"] != before["admin-key.pem"]
    assert load_certificate(paths.node).not_valid_after_utc > later + dt.timedelta(days=700)


def test_a_new_ca_reissues_the_leaves(tmp_path: Path) -> None:
    paths = ensure_certificates(tmp_path / "certs", now=NOW)
    paths.ca_key.unlink()
    ensure_certificates(tmp_path / "certs", now=NOW)
    ca = load_certificate(paths.ca)
    load_certificate(paths.node).verify_directly_issued_by(ca)
    load_certificate(paths.admin).verify_directly_issued_by(ca)


def test_a_damaged_key_is_replaced(tmp_path: Path) -> None:
    paths = ensure_certificates(tmp_path / "certs", now=NOW)
    paths.node_key.write_text("not a key")
    ensure_certificates(tmp_path / "certs", now=NOW)
    assert paths.node_key.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert _mode(paths.node_key) == 0o600


def test_node_material_copies_only_what_the_node_needs(tmp_path: Path) -> None:
    paths = ensure_certificates(tmp_path / "certs", now=NOW)
    target = tmp_path / "config" / "certs"
    install_node_material(paths, target)
    assert sorted(p.name for p in target.iterdir()) == ["ca.pem", "node-key.pem", "node.pem"]
    assert _mode(target / "node-key.pem") == 0o600
    assert (target / "node.pem").read_bytes() == paths.node.read_bytes()
