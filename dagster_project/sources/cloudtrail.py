"""AWS CloudTrail: S3 delivery files (`{"Records": [...]}`), JSON lines of records and OTRF NDJSON."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from functools import lru_cache
from typing import Any, BinaryIO

import orjson

from dagster_project.sources.base import Event, GuardedParser, RawRecord, Rejected
from dagster_project.sources.readers import iter_json_records
from dagster_project.sources.spec import SigmaLogsource, SourceSpec
from dagster_project.sources.values import canonical_ip, compact_json, load_json_object, parse_timestamp

NAME = "cloudtrail"
DATASET = "aws.cloudtrail"

_DROPPED_KEYS = frozenset({"@timestamp", "@version"})
"""Keys a shipper (Logstash) added; they are not CloudTrail fields."""

_OBJECT_KEYS = (
    "userIdentity",
    "responseElements",
    "additionalEventData",
    "serviceEventDetails",
    "tlsDetails",
)
"""CloudTrail fields mapped as objects: any other JSON type there would fail indexing."""

PROMOTED_REQUEST_PARAMETERS = (
    "userName",
    "roleArn",
    "roleName",
    "roleSessionName",
    "groupName",
    "policyArn",
    "bucketName",
    "arn",
    "attribute",
    "name",
)
"""`requestParameters` keys copied as keywords to `aws.cloudtrail.request_parameters.*` (rules need them)."""
_PROMOTED = frozenset(PROMOTED_REQUEST_PARAMETERS)

NESTED_OBJECTS = (
    "userIdentity",
    "requestParameters",
    "responseElements",
    "additionalEventData",
    "serviceEventDetails",
    "tlsDetails",
    "resources",
)
"""CloudTrail fields holding objects, whose leaves go to `aws.cloudtrail.flattened.<field>` as `path=value` entries.

Their keys are open-ended (every AWS API has its own request and response), so they are not mapped one by
one: that would grow the index mapping with each new API call seen. Each leaf becomes one keyword,
`<dotted path>=<value>` (`containerDefinitions.command=curl ...`; list items share their list's path),
the layout of OpenSearch `flat_object`'s `_valueAndPath` sub-field, but with a `caseless` sub-field,
which `flat_object` cannot have and Sigma's case-insensitive matching needs (`docs/ecs-fields.md`).
"""
FLATTENED = "flattened"
_CONTAINERS = (dict, list)
"""A tuple, not `dict | list`: the union would be built again at each `isinstance` in the per-record path."""

_AUTH_EVENTS: dict[str, tuple[str, ...]] = {
    "ConsoleLogin": ("start",),
    "AssumeRole": ("start",),
    "AssumeRoleWithSAML": ("start",),
    "AssumeRoleWithWebIdentity": ("start",),
    "GetSessionToken": ("start",),
    "GetFederationToken": ("start",),
    "SwitchRole": ("start",),
    "ExitRole": ("end",),
    "RenewRole": ("start",),
    "CheckMfa": ("info",),
    "GetSigninToken": ("info",),
    "CreateToken": ("start",),
    "Federate": ("start",),
}
_IAM_SOURCES = frozenset(
    {"iam.amazonaws.com", "sso.amazonaws.com", "identitystore.amazonaws.com", "rolesanywhere.amazonaws.com"}
)
_VERB = re.compile(r"^[A-Z][a-z]+")
_CREATION = frozenset({"Create", "Run", "Start", "Launch", "Allocate", "Register", "Import", "Copy", "Issue"})
_DELETION = frozenset({"Delete", "Terminate", "Remove", "Deregister", "Release", "Revoke", "Leave", "Disassociate"})
_CHANGE = frozenset(
    {
        "Put", "Update", "Modify", "Set", "Attach", "Detach", "Add", "Authorize", "Stop", "Enable",
        "Disable", "Change", "Reset", "Associate", "Replace", "Tag", "Untag", "Upload", "Restore",
        "Deactivate", "Activate", "Accept", "Reject", "Apply", "Cancel", "Send", "Invoke", "Rotate",
        "Share", "Unshare", "Reboot", "Assign", "Unassign", "End", "Edit", "Publish", "Increase",
        "Decrease", "Move", "Rename", "Suspend", "Resume",
    }
)  # fmt: skip


@lru_cache(maxsize=8192)
def classify(event_source: str, event_name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """ECS `event.category` and `event.type` for a CloudTrail call, from its service and verb."""
    if event_name in _AUTH_EVENTS:
        return ("authentication",), _AUTH_EVENTS[event_name]
    match = _VERB.match(event_name)
    verb = match.group(0) if match else ""
    if verb in _CREATION:
        kind = "creation"
    elif verb in _DELETION:
        kind = "deletion"
    elif verb in _CHANGE:
        kind = "change"
    else:
        kind = "info"
    if event_source in _IAM_SOURCES:
        types: list[str] = []
        if "User" in event_name or "LoginProfile" in event_name or "AccessKey" in event_name:
            types.append("user")
        if "Group" in event_name:
            types.append("group")
        if "Policy" in event_name or "Role" in event_name:
            types.append("admin")
        types.append(kind)
        return ("iam",), tuple(types)
    if kind == "info":
        return ("configuration",), ("access",)
    return ("configuration",), (kind,)


def _looks_like_domain(value: str) -> bool:
    return "." in value and " " not in value and len(value) <= 253


def user_name(identity: dict[str, Any]) -> str | None:
    """`userIdentity.userName`, else the last part of its ARN (`root`, a user, or a role session)."""
    name = identity.get("userName")
    if isinstance(name, str) and name:
        return name
    arn = identity.get("arn")
    if isinstance(arn, str) and arn:
        tail = arn.rsplit("/", 1)[-1] if "/" in arn else arn.rsplit(":", 1)[-1]
        return tail or None
    return None


def _leaves(value: Any, path: str, out: dict[str, None]) -> bool:
    """Add the `path=value` entry of each leaf under `value` (a dict or list) to `out`, in order.

    One frame per level of nesting, as a walk over JSON must be (input nested past the stack is a reject).
    Strings, the most common leaves, are handled inline. Returns whether every leaf was a `str`, `int`, `bool`
    or None in plain dicts and lists: then orjson writes the value's compact JSON as the stdlib does.
    """
    plain = True
    if isinstance(value, dict):
        for key, item in value.items():
            kind = type(item)
            if kind is str:
                out[f"{path}.{key}={item}" if path else f"{key!s}={item}"] = None
            elif kind is dict or kind is list:
                plain = _leaves(item, f"{path}.{key}" if path else str(key), out) and plain
            else:
                plain = _leaf(item, f"{path}.{key}" if path else str(key), out) and plain
        return plain and type(value) is dict
    for item in value:
        kind = type(item)
        if kind is str:
            out[f"{path}={item}"] = None
        elif kind is dict or kind is list:
            plain = _leaves(item, path, out) and plain
        else:
            plain = _leaf(item, path, out) and plain
    return plain and type(value) is list


def _leaf(value: Any, path: str, out: dict[str, None]) -> bool:
    """`_leaves` for a value that is not a plain `str`, `dict` or `list`: JSON scalars keep their JSON text."""
    if isinstance(value, _CONTAINERS):
        _leaves(value, path, out)
        return False
    kind = type(value)
    if kind is bool:
        out[f"{path}={'true' if value else 'false'}"] = None
        return True
    if kind is int:
        out[f"{path}={int.__repr__(value)}"] = None
        return True
    if isinstance(value, str):
        out[f"{path}={value}"] = None
    elif isinstance(value, int | float):  # an int subclass, or a float (`1e-07`, `Infinity`: not orjson's text)
        out[f"{path}={compact_json(value)}"] = None
    return value is None


def flattened_entries(value: Any) -> list[str]:
    """The `path=value` entry of each leaf of a JSON object or list, in order, without repeats (nulls left out)."""
    out: dict[str, None] = {}
    if isinstance(value, _CONTAINERS):
        _leaves(value, "", out)
    return list(out)


def _params_json(params: Any, plain: bool) -> str:
    """`compact_json(params)`, by orjson when `_leaves` found only leaves it writes the same (no floats)."""
    if plain:
        try:
            return orjson.dumps(params, option=orjson.OPT_SORT_KEYS).decode()
        except TypeError:  # an integer beyond 64 bits, a lone surrogate, a non-string key, deep nesting
            pass
    return compact_json(params)


def _str(raw: dict[str, Any], key: str) -> str | None:
    value = raw.get(key)
    return value if isinstance(value, str) and value else None


def _related(*values: str | None) -> list[str]:
    out: list[str] = []
    for value in values:
        if value and value not in out:
            out.append(value)
    return out


class CloudTrailParser(GuardedParser):
    """Parser for CloudTrail records: ECS fields plus the raw record under `aws.cloudtrail`."""

    name = NAME

    def records(self, stream: BinaryIO, path: str) -> Iterator[RawRecord]:
        """Stream records from a delivery file, a JSON array, or JSON lines (decided by peeking)."""
        return iter_json_records(stream, envelope_key="Records")

    def parse_record(self, record: RawRecord) -> Event | Rejected:
        """Map one CloudTrail record to ECS, or reject it with a reason."""
        raw = load_json_object(record.text)
        if isinstance(raw, str):
            return Rejected(raw, record.line_no, record.text)
        problem = _not_a_record(raw)
        if problem:
            return Rejected(problem, record.line_no, record.text)
        timestamp = _timestamp(raw)
        if isinstance(timestamp, str):
            return Rejected(timestamp, record.line_no, record.text)
        return Event(timestamp=timestamp, original=record.text, fields=to_ecs(raw))


def _not_a_record(raw: dict[str, Any]) -> str | None:
    if "digestStartTime" in raw or "digestS3Object" in raw:
        return "a CloudTrail digest file, not an event record"
    records = raw.get("Records")
    if isinstance(records, list):
        return f"a CloudTrail delivery envelope with {len(records)} records given as one record"
    name = raw.get("eventName")
    if not isinstance(name, str) or not name:
        return "missing eventName (not a CloudTrail record)"
    return None


def _timestamp(raw: dict[str, Any]) -> datetime | str:
    for key in ("eventTime", "@timestamp"):
        if key in raw:
            value = raw[key]
            parsed = parse_timestamp(value) if isinstance(value, str) else None
            if parsed is None:
                return f"unparseable {key} {value!r}"[:300]
            return parsed
    return "missing eventTime (and no @timestamp)"


def to_ecs(raw: dict[str, Any]) -> dict[str, Any]:
    """The ECS fields of one CloudTrail record (without `@timestamp`/`event.original`)."""
    trail: dict[str, Any] = dict(raw)  # a copy, then the few shipper keys out: cheaper than filtering every key
    for key in _DROPPED_KEYS:
        trail.pop(key, None)
    tags: list[str] = []
    for key in _OBJECT_KEYS:
        value = trail.get(key)
        if value is not None and not isinstance(value, dict):
            # Kept in event.original; an object-mapped field holding a scalar would fail the bulk.
            del trail[key]
            tags.append(f"cloudtrail_{key}_not_an_object")
    resources = trail.get("resources")
    if resources is not None and not (isinstance(resources, list) and all(isinstance(r, dict) for r in resources)):
        del trail["resources"]
        tags.append("cloudtrail_resources_not_a_list_of_objects")
    flattened: dict[str, list[str]] = {}
    plain_params = False
    for key in NESTED_OBJECTS:
        value = raw.get(key)
        if isinstance(value, _CONTAINERS):
            out: dict[str, None] = {}
            plain = _leaves(value, "", out)
            if out:
                flattened[key] = list(out)
            if key == "requestParameters":
                plain_params = plain
    params = raw.get("requestParameters")
    if params is not None:
        trail["requestParameters"] = _params_json(params, plain_params)
        if isinstance(params, dict) and not _PROMOTED.isdisjoint(params):
            promoted = {k: v for k in PROMOTED_REQUEST_PARAMETERS if isinstance(v := params.get(k), str)}
            if promoted:
                trail["request_parameters"] = promoted

    if flattened:
        trail[FLATTENED] = flattened

    identity = trail.get("userIdentity") or {}
    response = trail.get("responseElements") or {}
    event_name: str = raw["eventName"]
    event_source = _str(raw, "eventSource")
    category, types = classify(event_source or "", event_name)
    error_code = raw.get("errorCode")
    error_message = raw.get("errorMessage")
    failed = bool(error_code) or response.get("ConsoleLogin") == "Failure"

    event: dict[str, Any] = {
        "kind": "event",
        "category": list(category),
        "type": list(types),
        "action": event_name,
        "outcome": "failure" if failed else "success",
        "dataset": DATASET,
        "module": "aws",
    }
    if event_source:
        event["provider"] = event_source
    event_id = _str(raw, "eventID")
    if event_id:
        event["id"] = event_id

    fields: dict[str, Any] = {"event": event}
    cloud: dict[str, Any] = {"provider": "aws"}
    region = _str(raw, "awsRegion")
    if region:
        cloud["region"] = region
    account = _str(raw, "recipientAccountId") or _str(identity, "accountId")
    if account:
        cloud["account"] = {"id": account}
    fields["cloud"] = cloud

    address = _str(raw, "sourceIPAddress")
    ip = canonical_ip(address) if address else None
    if address:
        source: dict[str, Any] = {"address": address}
        if ip:
            source["ip"] = ip
        elif _looks_like_domain(address):
            source["domain"] = address
        fields["source"] = source
    agent = _str(raw, "userAgent")
    if agent:
        fields["user_agent"] = {"original": agent}

    user: dict[str, Any] = {}
    name = user_name(identity)
    if name:
        user["name"] = name
    principal = _str(identity, "principalId")
    if principal:
        user["id"] = principal
    target = trail.get("request_parameters", {}).get("userName")
    if target:
        user["target"] = {"name": target}
    if user:
        fields["user"] = user

    if error_code or error_message:
        error: dict[str, Any] = {}
        if error_code:
            error["code"] = str(error_code)
        if error_message:
            error["message"] = str(error_message)
        fields["error"] = error

    related: dict[str, Any] = {}
    if ip:
        related["ip"] = [ip]
    related_users = _related(name, target)
    if related_users:
        related["user"] = related_users
    if related:
        fields["related"] = related

    who = name or _str(identity, "invokedBy") or _str(identity, "type") or "unknown identity"
    message = f"{event_name} on {event_source or 'unknown service'} by {who}"
    if address:
        message += f" from {address}"
    if failed:
        message += f" failed: {error_code or error_message or response.get('ConsoleLogin')}"
    fields["message"] = message
    if tags:
        fields["tags"] = tags
    fields["aws"] = {"cloudtrail": trail}
    return fields


SIGMA_FIELDS = {
    "eventName": "event.action",
    "eventSource": "event.provider",
    "errorCode": "error.code",
    "errorMessage": "error.message",
    "userAgent": "user_agent.original",
    "awsRegion": "cloud.region",
    "recipientAccountId": "cloud.account.id",
    **{
        name: f"aws.cloudtrail.{name}"
        for name in (
            "eventType",
            "sourceIPAddress",
            "userIdentity.type",
            "userIdentity.arn",
            "userIdentity.userName",
            "userIdentity.invokedBy",
            "userIdentity.principalId",
            "additionalEventData.MFAUsed",
            "responseElements.ConsoleLogin",
        )
    },
}
"""Sigma's CloudTrail rules use CloudTrail's raw names: the ECS field of each (the raw record is kept too)."""

SIGMA_NESTED = {name: f"aws.cloudtrail.{FLATTENED}.{name}" for name in NESTED_OBJECTS}
"""Sigma field prefix -> the field of its `path=value` entries: `requestParameters.<path>` is searched there."""

SPEC = SourceSpec(
    name=NAME,
    description="AWS CloudTrail records (S3 delivery files, JSON arrays or lines)",
    parser=CloudTrailParser,
    datasets=(DATASET,),
    logsources=(
        SigmaLogsource("aws_cloudtrail", product="aws", service="cloudtrail", fields=SIGMA_FIELDS, nested=SIGMA_NESTED),
    ),
    samples=("cloudtrail/invictus_stratus/2*_CloudTrail_*.json",),
)
