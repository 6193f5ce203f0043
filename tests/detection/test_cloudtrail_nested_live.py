"""SigmaHQ CloudTrail rules on nested fields, on the node, through `siem rules test`.

Each case is an upstream rule as it is (read from the shared SigmaHQ copy, not kept here) with two
CloudTrail records written here: one that the rule describes and a near miss (the same call with the
nested value the rule looks for changed, or put under another path). Exactly the first must match, so
what the rule searches (`aws.cloudtrail.flattened.<object>` entries) is really in the indexed document.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from opensearchpy import OpenSearch

from dagster_project.cli import cli

pytestmark = pytest.mark.live

CLOUDTRAIL_RULES = ("sigma", "sigmahq", "rules", "cloud", "aws", "cloudtrail")

POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::<YOUR-BUCKET-NAME>/*"]},
    ],
}
DENY_POLICY = {**POLICY, "Statement": [{**POLICY["Statement"][0], "Effect": "Deny"}]}


def _record(second: int, source: str, name: str, **extra: Any) -> dict[str, Any]:
    identity = {
        "type": "IAMUser",
        "principalId": "AIDAEXAMPLE",
        "arn": "arn:aws:iam::111122223333:user/alice",
        "accountId": "111122223333",
        "userName": "alice",
    }
    return {
        "eventVersion": "1.08",
        "userIdentity": identity,
        "eventTime": f"2026-11-30T10:00:{second:02d}Z",
        "eventSource": source,
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": "198.51.100.7",
        "userAgent": "aws-cli/2.15.0 Python/3.11.6",
        "eventID": f"00000000-0000-4000-8000-{second:012d}",
        "eventType": "AwsApiCall",
        "recipientAccountId": "111122223333",
        **extra,
    }


def _assumed_role(issuer_type: str) -> dict[str, Any]:
    return {
        "type": "AssumedRole",
        "principalId": "AROAEXAMPLE:session",
        "arn": "arn:aws:sts::111122223333:assumed-role/deploy/session",
        "accountId": "111122223333",
        "sessionContext": {
            "sessionIssuer": {"type": issuer_type, "arn": "arn:aws:iam::111122223333:role/deploy"},
            "attributes": {"creationDate": "2026-11-30T09:59:00Z", "mfaAuthenticated": "false"},
        },
    }


def _task(command: list[str], environment: list[dict[str, str]]) -> dict[str, Any]:
    container = {"name": "app", "image": "alpine", "command": command, "environment": environment}
    return {"family": "app", "containerDefinitions": [container]}


CREDENTIALS = "$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"
CASES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "aws_cloudtrail_guardduty_detector_deleted_or_updated": (
        _record(1, "guardduty.amazonaws.com", "UpdateDetector", requestParameters={"detectorId": "d", "enable": False}),
        _record(2, "guardduty.amazonaws.com", "UpdateDetector", requestParameters={"detectorId": "d", "enable": True}),
    ),
    "aws_disable_bucket_versioning": (
        _record(
            1,
            "s3.amazonaws.com",
            "PutBucketVersioning",
            requestParameters={"bucketName": "logs", "VersioningConfiguration": {"Status": "Suspended"}},
        ),
        _record(
            2,
            "s3.amazonaws.com",
            "PutBucketVersioning",
            requestParameters={"bucketName": "logs", "VersioningConfiguration": {"Status": "Enabled"}},
        ),
    ),
    "aws_ec2_startup_script_change": (
        _record(
            1,
            "ec2.amazonaws.com",
            "ModifyInstanceAttribute",
            requestParameters={"instanceId": "i-0abc", "attribute": "userData"},
        ),
        _record(
            2,
            "ec2.amazonaws.com",
            "ModifyInstanceAttribute",
            requestParameters={"instanceId": "i-0abc", "attribute": "instanceType"},
        ),
    ),
    "aws_ec2_vm_export_failure": (
        _record(
            1,
            "ec2.amazonaws.com",
            "CreateInstanceExportTask",
            responseElements={"exportTask": {"exportTaskId": "export-i-1", "state": "active"}},
        ),
        # The rule leaves out exports whose response says they failed, in any letter case.
        _record(
            2,
            "ec2.amazonaws.com",
            "CreateInstanceExportTask",
            responseElements={"exportTask": {"exportTaskId": "export-i-2", "statusMessage": "export FAILURE"}},
        ),
    ),
    "aws_ecs_task_definition_cred_endpoint_query": (
        _record(
            1,
            "ecs.amazonaws.com",
            "RegisterTaskDefinition",
            requestParameters=_task(["sh", "-c", f"curl 169.254.170.2{CREDENTIALS}"], []),
        ),
        # The same text outside `containerDefinitions.command` is not what the rule looks for.
        _record(
            2,
            "ecs.amazonaws.com",
            "RegisterTaskDefinition",
            requestParameters=_task(["sh", "-c", "echo ready"], [{"name": "URI", "value": CREDENTIALS}]),
        ),
    ),
    "aws_iam_s3browser_templated_s3_bucket_policy_creation": (
        _record(
            1,
            "iam.amazonaws.com",
            "PutUserPolicy",
            userAgent="S3 Browser 11.5.7 https://s3browser.com",
            requestParameters={"userName": "bob", "policyName": "p", "policyDocument": json.dumps(POLICY, indent=2)},
        ),
        _record(
            2,
            "iam.amazonaws.com",
            "PutUserPolicy",
            userAgent="S3 Browser 11.5.7 https://s3browser.com",
            requestParameters={"userName": "bob", "policyName": "p", "policyDocument": json.dumps(DENY_POLICY)},
        ),
    ),
    "aws_new_lambda_layer_attached": (
        _record(
            1,
            "lambda.amazonaws.com",
            "UpdateFunctionConfiguration20150331v2",
            requestParameters={"functionName": "f", "layers": ["arn:aws:lambda:us-east-1:111122223333:layer:x:1"]},
        ),
        _record(
            2,
            "lambda.amazonaws.com",
            "UpdateFunctionConfiguration20150331v2",
            requestParameters={"functionName": "f", "timeout": 30},
        ),
    ),
    "aws_rds_change_master_password": (
        _record(
            1,
            "rds.amazonaws.com",
            "ModifyDBInstance",
            responseElements={"dBInstanceIdentifier": "db", "pendingModifiedValues": {"masterUserPassword": "****"}},
        ),
        _record(
            2,
            "rds.amazonaws.com",
            "ModifyDBInstance",
            responseElements={"dBInstanceIdentifier": "db", "pendingModifiedValues": {"dBInstanceClass": "db.t3"}},
        ),
    ),
    "aws_rds_public_db_restore": (
        _record(
            1,
            "rds.amazonaws.com",
            "RestoreDBInstanceFromDBSnapshot",
            responseElements={"dBInstanceIdentifier": "db", "publiclyAccessible": True},
        ),
        _record(
            2,
            "rds.amazonaws.com",
            "RestoreDBInstanceFromDBSnapshot",
            responseElements={"dBInstanceIdentifier": "db", "publiclyAccessible": False},
        ),
    ),
    "aws_sts_assumerole_misuse": (
        _record(1, "s3.amazonaws.com", "ListBuckets", userIdentity=_assumed_role("Role")),
        _record(2, "s3.amazonaws.com", "ListBuckets", userIdentity=_assumed_role("Root")),
    ),
}


def test_nested_field_rules_match_their_event_and_not_its_near_miss(
    tmp_path: Path, opensearch_client: OpenSearch, shared_data: Path
) -> None:
    """Every case: 2 records indexed, exactly the one the rule describes matched."""
    rules = shared_data.joinpath(*CLOUDTRAIL_RULES)
    folders = []
    for name, (positive, near_miss) in CASES.items():
        folder = tmp_path / name
        folder.mkdir()
        (folder / "rule.yml").write_text((rules / f"{name}.yml").read_text())
        (folder / "events.json").write_text(json.dumps({"Records": [positive, near_miss]}))
        (folder / "info.yml").write_text("regression_tests_info:\n  - match_count: 1\n")
        folders.append(folder)
    result = CliRunner().invoke(cli, ["rules", "test", *map(str, folders), "--json"], catch_exceptions=False)
    data = json.loads(result.output)
    outcome = {case["case"]: (case["error"], case["events"], case["matched"]) for case in data["cases"]}
    assert outcome == {name: (None, 2, 1) for name in CASES}
