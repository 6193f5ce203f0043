"""SigmaHQ `category: proxy` rules on a forward proxy's access log, on the node, through `siem rules test`.

Each case is an upstream rule as it is (read from the shared SigmaHQ copy, not kept here) over lines in
Squid's `logformat combined` written here: those the rule describes and near misses (the same request with
the value the rule looks for changed, or a web server's own request, origin-form, that proxy rules must not
search). Exactly the first must match, so what each rule searches is really in the indexed document.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from opensearchpy import OpenSearch

from dagster_project.cli import cli

pytestmark = pytest.mark.live

PROXY_RULES = ("sigma", "sigmahq", "rules", "web", "proxy_generic")
BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
EMPIRE = "Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko"
BITS = "Microsoft BITS/7.8"


def _line(target: str, method: str = "GET", agent: str = BROWSER) -> str:
    """One request as Squid's `logformat combined` writes it (its trailing `%Ss:%Sh` included)."""
    return (
        f'10.0.0.5 - - [30/Nov/2026:10:00:00 +0000] "{method} {target} HTTP/1.1" 200 5120 '
        f'"-" "{agent}" TCP_MISS:HIER_DIRECT'
    )


IP_SCANNER = "http://www.advanced-ip-scanner.com/checkupdate.php?lng=en&ver=2-5-3499&beta=n&type=upd"
CASES: dict[str, tuple[list[str], list[str]]] = {
    "proxy_download_susp_dyndns": (
        [_line("http://files.hopto.org/a/Invoice.EXE")],
        [_line("http://files.hopto.org/a/readme.txt")],
    ),
    "proxy_download_susp_tlds_blacklist": (
        [_line("http://cdn.example.XIN/setup.exe")],
        [_line("http://cdn.example.com/setup.exe")],
    ),
    "proxy_download_susp_tlds_whitelist": (
        [_line("http://cdn.example.xyz/setup.exe")],
        [_line("http://cdn.example.de/setup.exe")],
    ),
    "proxy_downloadcradle_webdav": (
        [_line("http://198.51.100.9/share/doc.txt", agent="Microsoft-WebDAV-MiniRedir/10.0.19041")],
        [_line("http://198.51.100.9/share/doc.txt", "PROPFIND", "Microsoft-WebDAV-MiniRedir/10.0.19041")],
    ),
    "proxy_f5_tm_utility_bash_api_request": (
        [_line("http://10.1.1.1/mgmt/tm/util/bash", "POST")],
        [_line("http://10.1.1.1/mgmt/tm/util/bash", "GET")],
    ),
    "proxy_hello_world_user_agent": (
        [_line("http://x.example/", agent="Hello-World/1.0")],
        # A web server's own request (origin form) is not a proxied one.
        [_line("http://x.example/", agent="Hello-World/1.1"), _line("/", agent="Hello-World/1.0")],
    ),
    "proxy_hktl_baby_shark_default_agent_url": (
        [_line("http://c2.example/momyshark?key=abc")],
        [_line("http://c2.example/momyshark/key=abc")],
    ),
    "proxy_hktl_empire_ua_uri_patterns": (
        [_line("http://c2.example/news.php", "POST", EMPIRE)],
        [_line("http://c2.example/news.php", "GET", EMPIRE)],
    ),
    "proxy_pua_advanced_ip_scanner_update_check": (
        [_line(f"{IP_SCANNER}&rmode=p&product=aips")],
        [_line(f"{IP_SCANNER}&product=aips")],
    ),
    "proxy_pwndrop": (
        [_line("http://drop.example/pwndrop/x.exe")],
        [_line("http://drop.example/pwn-drop/x.exe")],
    ),
    "proxy_raw_paste_service_access": (
        [_line("http://paste.ee/r/abc")],
        [_line("http://paste.example/r/abc")],
    ),
    "proxy_susp_flash_download_loc": (
        [_line("http://dl.example.net/install_flash_player.exe")],
        [_line("http://fpdownload.adobe.com/install_flash_player.exe")],
    ),
    "proxy_susp_ipfs_cred_harvest": (
        [_line("http://ipfs.io/ipfs/Qm123/login.html?email=victim@example.com")],
        [_line("http://ipfs.io/ipfs/Qm123/index.html")],
    ),
    "proxy_telegram_api": (
        # HTTPS through a proxy: the proxy sees only the CONNECT to host:port.
        [_line("api.telegram.org:443", "CONNECT", "curl/8.5.0")],
        [_line("api.telegram.org:443", "CONNECT", "TelegramBot (like TwitterBot)")],
    ),
    "proxy_ua_apt": ([_line("http://x.example/", agent="webclient")], [_line("http://x.example/", agent="webclient2")]),
    "proxy_ua_base64_encoded": (
        [_line("http://x.example/", agent="Q2hyb21lLzEyMC4w")],
        [_line("http://x.example/", agent="Chrome/120.0")],
    ),
    "proxy_ua_bitsadmin_susp_ip": (
        [_line("http://203.0.113.7/payload.bin", agent=BITS)],
        [_line("http://update.example.com/payload.bin", agent=BITS)],
    ),
    "proxy_ua_bitsadmin_susp_tld": (
        [_line("http://dl.example.ru/x.bin", agent=BITS)],
        [_line("http://dl.example.com/x.bin", agent=BITS)],
    ),
    "proxy_ua_cryptominer": (
        [_line("http://pool.example/", agent="XMRig 6.21.0 (Linux x86_64) libuv/1.44")],
        [_line("http://pool.example/", agent="xmrig-proxy/6.21")],
    ),
    "proxy_ua_empty": (
        [_line("http://x.example/", agent="")],
        [_line("http://x.example/", agent="curl/8.5.0")],
    ),
    "proxy_ua_frameworks": (
        [_line("http://x.example/", agent="Internet Explorer 6.0")],
        [_line("http://x.example/", agent="Internet Explorer")],
    ),
    "proxy_ua_hacktool": (
        [_line("http://x.example/", agent="Mozilla/5.0 (compatible; DirBuster 1.0)")],
        [_line("http://x.example/", agent="Mozilla/5.0 (compatible; Dir Buster)")],
    ),
    "proxy_ua_malware": (
        [_line("http://x.example/", agent="HttpBrowser/1.0")],
        [_line("http://x.example/", agent="HttpBrowser/1.1")],
    ),
    "proxy_ua_powershell": (
        [_line("http://x.example/", agent="Mozilla/5.0 (Windows NT; Windows NT 10.0; en-US) WindowsPowerShell/5.1")],
        [_line("http://x.example/", agent="Mozilla/5.0 (Windows NT 10.0) PowerShell/7.4.0")],
    ),
    "proxy_ua_rclone": (
        [_line("http://x.example/", agent="rclone/v1.65.0")],
        [_line("http://x.example/", agent="rclone-v1.65.0")],
    ),
    "proxy_ua_susp": (
        [_line("http://x.example/", agent="Mozila/5.0 (Windows NT 10.0)")],
        [_line("http://x.example/", agent="Mozilla/5.0 (Windows NT 10.0)")],
    ),
    "proxy_ua_susp_base64": (
        [_line("http://x.example/", agent="dGVzdA==")],
        [_line("http://x.example/", agent="dGVzdA")],
    ),
}


def test_proxy_rules_match_their_requests_and_not_the_near_misses(
    tmp_path: Path, opensearch_client: OpenSearch, shared_data: Path
) -> None:
    """Every case: all its lines indexed, exactly the ones the rule describes matched."""
    rules = shared_data.joinpath(*PROXY_RULES)
    folders = []
    for name, (positives, near_misses) in CASES.items():
        folder = tmp_path / name
        folder.mkdir()
        (folder / "rule.yml").write_text((rules / f"{name}.yml").read_text())
        (folder / "access.log").write_text("\n".join(positives + near_misses) + "\n")
        (folder / "info.yml").write_text(f"regression_tests_info:\n  - match_count: {len(positives)}\n")
        folders.append(folder)
    result = CliRunner().invoke(cli, ["rules", "test", *map(str, folders), "--json"], catch_exceptions=False)
    data = json.loads(result.output)
    outcome = {case["case"]: (case["error"], case["events"], case["matched"]) for case in data["cases"]}
    assert outcome == {name: (None, len(p) + len(m), len(p)) for name, (p, m) in CASES.items()}
