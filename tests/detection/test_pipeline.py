"""The processing pipeline: log source registry and case-insensitive matching of free-text fields."""

from __future__ import annotations

import re

import pytest
from sigma.types import SigmaExpansion, SigmaRegularExpression, SigmaString

from dagster_project.detection.pipeline import (
    LOGSOURCES,
    CaseInsensitiveRegexTransformation,
    LogsourceNotCollected,
    logsource_target,
    lucene_regex,
)

pytestmark = pytest.mark.usefixtures("default_namespace")


@pytest.mark.parametrize(
    ("product", "service", "category", "index"),
    [
        ("aws", "cloudtrail", None, "siem-events-cloudtrail-*"),
        ("linux", "auth", None, "siem-events-linux-auth-*"),
        (None, None, "webserver", "siem-events-web-access-*"),
        ("apache", None, "webserver", "siem-events-web-access-*"),
        (None, None, "proxy", "siem-events-web-access-*"),
        (None, "apache", None, "siem-events-web-error-*"),
        (None, "nginx", None, "siem-events-web-error-*"),
        ("windows", "security", None, "siem-events-windows-*"),
        ("windows", "sysmon", None, "siem-events-windows-*"),
    ],
)
def test_logsource_maps_to_its_index(
    product: str | None, service: str | None, category: str | None, index: str
) -> None:
    """Each supported log source resolves to the index pattern its events are written to."""
    assert logsource_target(product, service, category).index == index


def test_unknown_logsource_is_not_collected() -> None:
    """A log source no source collects is refused with its own error type, naming the log source."""
    with pytest.raises(
        LogsourceNotCollected, match="log source not collected: product=linux service=None category=process_creation"
    ):
        logsource_target("linux", None, "process_creation")


@pytest.mark.parametrize(
    ("product", "service", "category", "name"),
    [
        ("windows", "powershell", None, "windows_powershell"),
        ("windows", "taskscheduler", None, "windows_taskscheduler"),
        ("windows", "windefend", None, "windows_windefend"),
        ("windows", None, "process_creation", "windows_process_creation"),
        ("windows", None, "ps_script", "windows_ps_script"),
        ("windows", None, "registry_set", "windows_registry_set"),
    ],
)
def test_windows_channels_and_categories_route(
    product: str, service: str | None, category: str | None, name: str
) -> None:
    """Every channel service pySigma names and every Sysmon/PowerShell category has its log source."""
    target = logsource_target(product, service, category)
    assert (target.name, target.source, target.logsource.pipeline) == (name, "windows", "ecs_windows")


def test_windows_services_share_an_index_but_not_a_dataset() -> None:
    """Security and Sysmon events live in one index, told apart by event.dataset."""
    assert LOGSOURCES["windows_security"].index == LOGSOURCES["windows_sysmon"].index
    assert LOGSOURCES["windows_security"].dataset == "windows.security"
    assert LOGSOURCES["windows_sysmon"].dataset == "windows.sysmon_operational"


def test_apache_and_nginx_error_logs_share_an_index_but_not_a_dataset() -> None:
    """Both servers' error logs are the web-error source; a rule for one searches only that server's lines."""
    assert LOGSOURCES["apache"].index == LOGSOURCES["nginx"].index == "siem-events-web-error-*"
    assert (LOGSOURCES["apache"].dataset, LOGSOURCES["nginx"].dataset) == ("apache.error", "nginx.error")


def _regex(value: SigmaString) -> str:
    result = CaseInsensitiveRegexTransformation().apply_value("process.command_line", value)
    assert isinstance(result, SigmaRegularExpression)
    return str(result.regexp)


def test_string_becomes_a_case_insensitive_regex() -> None:
    """Letters match either case; wildcards become `.*`; Lucene operators are escaped."""
    pattern = _regex(SigmaString("*\\mshta.exe <x@y>*"))
    assert pattern == r".*\\[mM][sS][hH][tT][aA]\.[eE][xX][eE]\ \<[xX]\@[yY]\>.*"
    assert re.fullmatch(pattern, r"C:\WINDOWS\System32\MSHTA.EXE <X@Y> trailing")


def test_slash_is_left_for_the_backend_to_escape() -> None:
    """The Lucene backend escapes `/` (its regex delimiter); escaping it here too would break it."""
    assert _regex(SigmaString("http://")) == r"[hH][tT][tT][pP]\://"


def test_expansion_becomes_one_alternation() -> None:
    """A windash expansion stays OR-linked as a single regular expression."""
    expansion = SigmaExpansion([SigmaString("* -e *"), SigmaString("* /e *")])
    result = CaseInsensitiveRegexTransformation().apply_value("process.command_line", expansion)
    assert isinstance(result, SigmaRegularExpression)
    assert str(result.regexp) == r"(.*\ \-[eE]\ .*|.*\ /[eE]\ .*)"


@pytest.mark.parametrize(
    ("sigma", "lucene", "matching"),
    [
        ("(?i)^[a-f0-9]{4}$", "[a-fA-F0-9]{4}", "aB3f"),
        ("(?i)^[A-Z]+x$", "[a-zA-Z]+[xX]", "QrX"),
    ],
)
def test_case_insensitive_class_ranges_span_both_cases_and_nothing_between(
    sigma: str, lucene: str, matching: str
) -> None:
    """`[a-z]` in any case is `[a-zA-Z]`, not `[aA-zZ]` (whose range A-z also holds `[`, `\\`, `_` and `` ` ``)."""
    pattern = lucene_regex(sigma)
    assert pattern == lucene
    assert re.fullmatch(pattern, matching)
    assert not any(re.fullmatch(pattern, odd * len(matching)) for odd in ("_", "`", "[", "^"))
