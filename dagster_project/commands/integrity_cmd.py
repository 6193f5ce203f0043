"""`siem integrity keygen | sign`: signing keys and signed digests of the integrity chains."""

from __future__ import annotations

from pathlib import Path

import click

from dagster_project.client import opened_client
from dagster_project.commands.shared import emit
from dagster_project.integrity import keys
from dagster_project.integrity.signing import sign_heads


@click.group("integrity")
def integrity_group() -> None:
    """Signing keys and signed digests of the integrity chains."""


@integrity_group.command("keygen")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path), help="Directory for the key pair.")
def keygen(out: Path) -> None:
    """Create an Ed25519 key pair (private key 0600); publish the .pub with the reports."""
    private_path, public_path = keys.generate(out)
    click.echo(f"private key: {private_path} (set SIEM_SIGNING_KEY_FILE)\npublic key:  {public_path}")


@integrity_group.command("sign")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def sign(as_json: bool) -> None:
    """Sign the current chain heads (one digest per hour; repeated calls in the hour return the same one)."""
    key = keys.private_key_from_env()
    with opened_client() as client:
        digest = sign_heads(client, key)
    emit(digest, as_json, f"signed {len(digest['heads'])} chain heads: {digest['digest']} (key {digest['key_id']})")
