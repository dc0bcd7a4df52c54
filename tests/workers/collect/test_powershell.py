"""The PowerShell collector: its scripts parse, its quoting round-trips, its answers parse.

PowerShell does not install here, so syntax is checked with tree-sitter-powershell (a real
PowerShell grammar, from PyPI), plus what that grammar does not model: PowerShell ends a
single-quoted literal at any of five quote characters, so each script is also parsed with the
typographic ones turned into ASCII quotes, and every request call is read back with an
independent tokenizer (tests/hosts/pslex.py) that must give the request's exact text.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import tree_sitter
import tree_sitter_powershell

from tests.hosts.pslex import QUOTES, read_args, read_call
from tests.hosts.windows_machine import WindowsMachine, decode_stage, expected_call
from tests.shared_data import REPO, shared_data_dir
from tests.workers.engine.conftest import make_policy
from workers.audit import host_info
from workers.collect import powershell
from workers.collect.session import parse_answer
from workers.engine.definitions import Dialect
from workers.engine.evaluate import CheckStatus, evaluate_policy
from workers.engine.facts import (
    CommandFact,
    CommandRequest,
    DirectoryEntry,
    DirectoryRequest,
    FactRequest,
    Facts,
    FileRequest,
    ProcessListRequest,
    RegistryFact,
    RegistryRequest,
    RegistryValue,
    UnavailableFact,
)
from workers.engine.plan import check_requests, command_request, requirement_requests
from workers.engine.policy import load_policy
from workers.engine.windows import (
    AUDITPOL_REPORT,
    OS_REQUESTS,
    SECEDIT_EXPORT,
    USERS_ROOT,
    parse_registry_answer,
    render_registry_data,
    snapshot_requests,
    split_registry_key,
)

PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))
TRICKY = [
    "plain",
    "",
    "it's",
    "typographic \u2018quotes\u2019 \u201alow\u201b ''",
    "%WINDIR%\\System32 and 100%",
    "$env:TEMP $(Get-Date) ${x}",
    "back`tick `n `$",
    'double "quoted" \\"',
    "管理者 Järjestelmänvalvoja Администратор 🔒",
    "new\nline\r\ttab",
    "nul\0 and \u2028 and \u200b",
    "C:\\trailing\\",
    "; Remove-Item C:\\ -Recurse #",
]


def syntax_errors(script: str) -> list[str]:
    """Where tree-sitter-powershell found a syntax error or had to invent a missing token."""
    found: list[str] = []
    stack = [PARSER.parse(script.encode("utf-8")).root_node]
    while stack:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            text = (node.text or b"")[:60].decode("utf-8", "replace")
            found.append(f"line {node.start_point[0] + 1}: {node.type} {text!r}")
        elif node.has_error:
            stack.extend(node.children)
    return found


def assert_valid_powershell(script: str) -> None:
    assert syntax_errors(script) == []
    # The grammar knows only ASCII quotes; PowerShell also ends literals at the other four.
    ascii_quotes = script.translate({ord(q): "'" for q in QUOTES[1:]})
    assert syntax_errors(ascii_quotes) == []


def windows_requests(policy_path: Path) -> list[FactRequest]:
    """Everything an audit of this policy would ask a Windows host, as audit.py builds it."""
    loaded = load_policy(policy_path)
    assert loaded.policy is not None, loaded.errors
    facts = Facts(windows=True)
    needed = dict.fromkeys([*OS_REQUESTS, *requirement_requests(loaded.policy, facts)])
    needed.update(dict.fromkeys(check_requests(loaded.policy, facts)))
    needed.update(dict.fromkeys(snapshot_requests(needed)))
    return list(needed)


def render(requests: list[FactRequest], first: bool = True) -> str:
    return powershell.render_script(
        enumerate(requests, 1),
        boundary="BWK-0123",
        stage=1,
        fact_cap=1000,
        command_timeout=30,
        first=first,
    )


def assert_calls_match_header(script: str) -> int:
    """Every call, read back by the reference tokenizer, says what the JSON header says."""
    header = decode_stage(_line(script))
    assert header is not None
    calls = {}
    for statement in script.split("\n"):
        if statement.startswith("try { "):
            name, args = read_call(statement)
            calls[args[0]] = [name, *args[1:]]
    requests = header[1]["requests"]
    for request in requests:
        assert calls[str(request["id"])] == expected_call(request)
    return len(requests)


def _line(script: str) -> str:
    encoded = base64.b64encode(script.encode()).decode()
    return f"x FromBase64String('{encoded}') x"


# -- syntax ---------------------------------------------------------------------------------------


def test_the_prologue_is_valid_powershell() -> None:
    assert_valid_powershell(powershell.PROLOGUE)


def test_every_function_a_stage_calls_is_defined_once_by_the_first_stage() -> None:
    requests: list[FactRequest] = [
        FileRequest("C:\\a", True),
        DirectoryRequest("C:\\"),
        CommandRequest(("x",), "x"),
        ProcessListRequest(),
        RegistryRequest("HKLM\\X"),
        SECEDIT_EXPORT,
    ]
    first, later = render(requests), render(requests, first=False)
    called = {read_call(s)[0] for s in later.split("\n") if s.startswith("try { ")}
    called |= {"_emit", "_s"}
    for name in called:
        assert powershell.PROLOGUE.count(f"function {name}(") == 1, name
    assert "$B = 'BWK-0123'; $C = 1000; $K = 30000" in first and "function _f(" in first
    assert "$B =" not in later and "function " not in later
    assert later.rstrip().endswith("_emit 'END' '1' $null")


def test_the_checker_catches_broken_powershell() -> None:
    assert syntax_errors("function f { if ($x) { 1 }")
    assert syntax_errors("_f '1' 'it's' 1")
    assert_valid_powershell("_f '1' 'it''s' 1")
    with pytest.raises(AssertionError):
        assert_valid_powershell("_f '1' 'a\u2019b' 1")  # a lone typographic quote ends it


def _windows_policies() -> list[Path]:
    shared = shared_data_dir()
    found = sorted((shared / "wazuh-sca-5x" / "windows").glob("*.yml"))
    found += sorted((shared / "wazuh-sca-4x" / "windows").glob("*.yml"))
    found += sorted((REPO / "rulesets" / "windows").glob("*.yml"))
    assert found
    return found


@pytest.mark.slow
def test_the_script_for_every_windows_policy_parses_and_quotes_exactly() -> None:
    for path in _windows_policies():
        requests = windows_requests(path)
        script = render(requests)
        try:
            assert_valid_powershell(script)
            assert assert_calls_match_header(script) == len(requests)
            line = powershell.render_stage(
                enumerate(requests, 1),
                boundary="BWK-0",
                stage=1,
                fact_cap=10,
                command_timeout=1,
                first=True,
            )
            assert_valid_powershell(line)
            assert line.count("\n") == 3 and line.isascii()  # one statement between blank lines
        except AssertionError as exc:
            raise AssertionError(f"{path.name}: {exc}") from exc


def test_tricky_text_is_quoted_so_powershell_reads_it_back_exactly() -> None:
    for text in TRICKY:
        literal = powershell.quote(text)
        statement = f"_c '1' {literal}"
        assert_valid_powershell(statement)
        assert read_args(statement) == ["_c", "1", text], text
        assert "$" not in literal or literal.startswith("'")  # never in an expanding string


def test_registry_paths_and_commands_with_tricky_text_round_trip() -> None:
    requests: list[FactRequest] = []
    for text in TRICKY:
        requests += [
            RegistryRequest(f"HKLM\\SOFTWARE\\{text}"),
            CommandRequest(("x",), line=f'reg query "HKLM\\{text}" /v "{text}"'),
            FileRequest(f"C:\\{text}", content=True),
            DirectoryRequest(f"C:\\{text}"),
        ]
    script = render(requests, first=False)
    assert_valid_powershell(script)
    assert assert_calls_match_header(script) == len(requests)


# -- what the host is asked ------------------------------------------------------------------------


def test_windows_commands_keep_the_rule_text_and_its_backslashes() -> None:
    policy = make_policy([r'c:reg query "HKLM\SOFTWARE\X Y" /v %WINDIR% -> r:1'])
    rule = policy.checks[0].rules[0]
    assert command_request(rule, windows=True).line == r'reg query "HKLM\SOFTWARE\X Y" /v %WINDIR%'
    assert command_request(rule, windows=False) == CommandRequest(rule.argv)
    script = render([command_request(rule, windows=True)], first=False)
    assert r"""_c '1' 'reg query "HKLM\SOFTWARE\X Y" /v %WINDIR%'""" in script


def test_argv_without_a_rule_text_becomes_a_windows_command_line() -> None:
    request = CommandRequest(("auditpol.exe", "/get", "/subcategory:Logon Events", 'a"b'))
    assert powershell.command_line(request) == (
        'auditpol.exe /get "/subcategory:Logon Events" a\\"b'
    )


def test_only_the_hives_w4_accepts_reach_the_host() -> None:
    assert split_registry_key(r"HKLM\SOFTWARE\X") == ("LocalMachine", r"SOFTWARE\X")
    assert split_registry_key(r"HKEY_USERS\S-1-5-18") == ("Users", "S-1-5-18")
    assert split_registry_key("HKCU") == ("CurrentUser", "")
    for refused in (r"HKU\S-1-5-18", r"HKCR\.txt", r"hklm\SOFTWARE", r"Hkey_Local_Machine\X"):
        assert split_registry_key(refused) is None
    script = render([RegistryRequest(r"HKU\x")], first=False)
    assert "_emit '1' 'badhive' $null" in script


def test_secedit_and_auditpol_are_collected_once_when_a_rule_names_them() -> None:
    auditpol = CommandRequest(("a",), line='auditpol.exe /get /subcategory:"Logon"')
    secedit = CommandRequest(("p",), line="powershell secedit /export /cfg x; Get-Content x")
    other = CommandRequest(("n",), line="net user")
    assert snapshot_requests([other]) == []
    assert snapshot_requests([auditpol, other]) == [AUDITPOL_REPORT]
    assert snapshot_requests([secedit, auditpol]) == [SECEDIT_EXPORT, AUDITPOL_REPORT]
    assert snapshot_requests([SECEDIT_EXPORT, AUDITPOL_REPORT]) == []
    script = render([SECEDIT_EXPORT, AUDITPOL_REPORT], first=False)
    assert "_sec '1'" in script and "_c '2' 'auditpol.exe /get /category:* /r'" in script


def test_windows_walks_name_entries_by_their_last_component() -> None:
    assert DirectoryEntry(r"C:\Windows\System32\hosts", False, True).name == "hosts"
    assert DirectoryEntry(r"\\server\share\a.ini", False, True).name == "a.ini"
    assert DirectoryEntry("/etc/odd\\name", False, True).name == "odd\\name"


# -- answers ---------------------------------------------------------------------------------------

MACHINE = WindowsMachine(
    {
        "registry": {
            r"HKLM\SOFTWARE\Both": {
                "Same": 1,
                "Differs": 0,
                "Multi": ["first", "second"],
                "Big": {"dword": 4294967295},
                "Blob": {"binary": "00ff80"},
                "Quad": {"qword": 1},
                "Path": {"expand_sz": "%SystemRoot%\\x"},
                "": "default value",
            },
            r"HKLM\SOFTWARE\Both\Child": {},
        },
        "registry64": {r"HKLM\SOFTWARE\Both": {"Differs": 0}},
        "registry32": {
            r"HKLM\SOFTWARE\Both": {"Differs": 1},
            r"HKLM\SOFTWARE\Only32": {"Legacy": "yes"},
        },
        "registry_denied": [r"HKLM\SECURITY\Secret"],
    }
)


def registry_fact(key: str) -> RegistryFact | UnavailableFact:
    split = split_registry_key(key)
    request = {"kind": "registry", "hive": split[0] if split else None}
    request["path"] = split[1] if split else None
    status, data = MACHINE.answer(request)
    return parse_answer(RegistryRequest(key), status, data, 10_000)


def test_registry_data_is_rendered_as_sca_shows_it() -> None:
    fact = registry_fact(r"HKLM\SOFTWARE\Both")
    assert isinstance(fact, RegistryFact) and fact.exists
    values = {(v.name, v.data) for v in fact.values}
    assert ("Multi", "first second ") in values  # joined by spaces, with a trailing space
    assert ("Big", "4294967295") in values  # unsigned decimal
    assert ("Blob", "00ff80") in values  # lowercase hex per byte
    assert ("Quad", "0100000000000000") in values  # little-endian bytes
    assert ("Path", "%SystemRoot%\\x") in values  # never expanded
    assert ("@", "default value") in values  # W4 calls the default value "@"
    assert ("Differs", "0") in values and ("Differs", "1") in values  # 64-bit view first
    assert [v.data for v in fact.values if v.name == "Differs"] == ["0", "1"]
    assert fact.subkeys == ("Child",)
    assert render_registry_data("REG_MULTI_SZ", b"") == ""


def test_a_key_in_only_one_view_exists_and_denied_needs_both_views() -> None:
    only32 = registry_fact(r"HKLM\SOFTWARE\Only32")
    assert isinstance(only32, RegistryFact) and only32.exists
    assert only32.values == (RegistryValue("Legacy", "REG_SZ", "yes"),)
    assert registry_fact(r"HKLM\SOFTWARE\Missing") == RegistryFact(False)
    assert registry_fact(r"HKLM\SECURITY\Secret") == RegistryFact(False, denied=True)
    mixed = b"S 64 denied\nS 32 missing\n"
    assert parse_registry_answer("ok", mixed, False) == RegistryFact(False, denied=False)
    assert isinstance(registry_fact(r"HKU\S-1-5-18"), UnavailableFact)


@pytest.mark.parametrize(
    "data",
    [
        b"S 64 found\n",  # a view missing
        b"S 64 found\nS 32 found",  # no final newline
        b"S 64 found\nS 32 found\nV 64 REG_SZ !!! AA==\n",  # not base64
        b"S 64 found\nS 32 found\nV 64 REG_WHAT AA== AA==\n",  # unknown type
        b"S 64 found\nS 32 found\nBWK-x 1 ok 3\n",  # a forged frame is just bad data
        b"S 64 found\nS 32 found\n\xff\n",
    ],
)
def test_malformed_registry_answers_are_unavailable(data: bytes) -> None:
    assert isinstance(parse_registry_answer("ok", data, False), UnavailableFact)


def test_an_oversized_registry_answer_is_unavailable() -> None:
    fact = parse_answer(RegistryRequest(r"HKLM\X"), "ok", b"S 64 found\n" * 10, 20)
    assert isinstance(fact, UnavailableFact) and "cap" in fact.reason


def _evaluate(rule: str, dialect: Dialect = Dialect.W4) -> CheckStatus:
    policy = make_policy([rule], dialect=dialect)
    facts = Facts(windows=True)
    key = policy.checks[0].rules[0].locations[0]
    facts.by_request[RegistryRequest(key)] = registry_fact(key)
    return evaluate_policy(policy, facts).checks[0].status


@pytest.mark.parametrize(
    ("rule", "status"),
    [
        (r"r:HKLM\SOFTWARE\Only32", "passed"),  # found in the 32-bit view
        (r"r:HKLM\SOFTWARE\Only32 -> Legacy -> yes", "passed"),
        (r"r:HKLM\SOFTWARE\Both -> Differs -> 1", "passed"),  # 64-bit view 0, 32-bit view 1
        (r"r:HKLM\SOFTWARE\Both -> Differs -> 0", "passed"),
        (r"r:HKLM\SOFTWARE\Both -> Differs -> 2", "failed"),
        (r"r:HKLM\SOFTWARE\Missing", "failed"),  # missing key: NOT_FOUND
        (r"r:HKLM\SOFTWARE\Missing -> Value", "not_applicable"),  # ... but INVALID with a name
        (r"r:HKLM\SOFTWARE\Both -> NoSuchValue", "failed"),  # missing value: NOT_FOUND
        (r"r:HKLM\SOFTWARE\Both -> NoSuchValue -> 1", "not_applicable"),  # ... INVALID
        (r"r:HKLM\SOFTWARE\Both -> Multi -> r:^first second $", "passed"),
        (r"r:HKLM\SOFTWARE\Both -> Big -> n:^(\d+) compare > 4000000000", "passed"),
        (r"r:HKLM\SOFTWARE\Both -> Blob -> 00ff80", "passed"),
        (r"r:HKLM\SOFTWARE\Both -> @ -> default value", "passed"),
        (r"r:HKLM\SECURITY\Secret", "not_applicable"),  # denied in both views
        (r"r:HKU\S-1-5-18", "not_applicable"),  # a hive W4 refuses
    ],
)
def test_registry_rules_follow_w4(rule: str, status: str) -> None:
    assert _evaluate(rule).value == status


def test_w5_name_rules_also_match_subkeys() -> None:
    assert _evaluate(r"r:HKLM\SOFTWARE\Both -> Child", Dialect.W5) is CheckStatus.PASSED


# -- every user's hive (HKEY_USERS\*\..., docs/policy-format.md §4.5) ----------------------------

ALICE, BOB = "S-1-5-21-1004336348-1177238915-682003330-1001", "S-1-12-1-1-2-3-4"
INSTALLER = r"Software\Policies\Microsoft\Windows\Installer"


def _users(alice: object, bob: object, *, hives: bool = True) -> WindowsMachine:
    """Two people's hives (a local account and an Entra ID account) beside the hives that are not
    people's, which never hold the value: a check must not depend on them."""
    registry: dict[str, dict[str, object]] = {r"HKEY_USERS\.DEFAULT\Software": {}}
    for sid in ("S-1-5-18", "S-1-5-19", "S-1-5-20", "S-1-5-82-1-2", f"{ALICE}_Classes"):
        registry[f"HKEY_USERS\\{sid}\\Software"] = {}
    if hives:
        for sid, value in ((ALICE, alice), (BOB, bob)):
            if value == "no key":
                registry[f"HKEY_USERS\\{sid}\\Software"] = {}
                continue
            values = {} if value is None else {"AlwaysInstallElevated": value}
            registry[f"HKEY_USERS\\{sid}\\{INSTALLER}"] = values
    return WindowsMachine({"registry": registry})


def _audit_users(machine: WindowsMachine, rules: list[str], condition: str = "all"):
    """Plan and evaluate as an audit does: stages until the plan asks nothing more."""
    policy = make_policy(rules, dialect=Dialect.W5, condition=condition)
    facts = Facts(windows=True)
    stages = []
    while needed := check_requests(policy, facts):
        stages.append(needed)
        for request in needed:
            assert isinstance(request, RegistryRequest)
            split = split_registry_key(request.key)
            assert split is not None
            status, data = machine.answer({"kind": "registry", "hive": split[0], "path": split[1]})
            facts.by_request[request] = parse_answer(request, status, data, 10_000)
    return evaluate_policy(policy, facts).checks[0], stages


EVERY_USER_RULES = [
    f"r:HKEY_USERS\\*\\{INSTALLER}",
    f"r:HKEY_USERS\\*\\{INSTALLER} -> AlwaysInstallElevated",
    f"r:HKEY_USERS\\*\\{INSTALLER} -> AlwaysInstallElevated -> 0",
]


def test_every_user_rules_read_hkey_users_then_each_persons_key() -> None:
    _, stages = _audit_users(_users(0, 0), EVERY_USER_RULES)
    assert stages == [
        [USERS_ROOT],
        [RegistryRequest(f"HKEY_USERS\\{sid}\\{INSTALLER}") for sid in sorted((ALICE, BOB))],
    ]


@pytest.mark.parametrize(
    ("alice", "bob", "status"),
    [
        (0, 0, "passed"),  # both people; the service and _Classes hives lack it and do not count
        (0, 1, "failed"),  # one person's value is wrong
        (0, None, "failed"),  # one person's key has no value
        (0, "no key", "failed"),  # one person's hive has no such key
    ],
)
def test_an_every_user_rule_holds_only_when_it_holds_in_every_persons_hive(
    alice: object, bob: object, status: str
) -> None:
    result, _ = _audit_users(_users(alice, bob), EVERY_USER_RULES)
    assert result.status.value == status, result.reason


def test_a_failing_user_is_named_in_the_evidence() -> None:
    result, _ = _audit_users(_users(0, 1), EVERY_USER_RULES)
    assert [e.location for e in result.evidence if e.result == "not_found"] == [
        f"HKEY_USERS\\{BOB}\\{INSTALLER}"
    ]


def test_not_negates_the_whole_every_user_rule() -> None:
    """`not` applies to "in every person's hive": it holds when some person lacks the value."""
    rule = [f"not r:HKEY_USERS\\*\\{INSTALLER} -> AlwaysInstallElevated -> 1"]
    assert _audit_users(_users(0, 1), rule)[0].status is CheckStatus.PASSED
    assert _audit_users(_users(1, 1), rule)[0].status is CheckStatus.FAILED


def test_without_a_persons_hive_an_every_user_rule_is_not_applicable() -> None:
    result, stages = _audit_users(_users(0, 0, hives=False), EVERY_USER_RULES)
    assert stages == [[USERS_ROOT]]
    assert result.status is CheckStatus.NOT_APPLICABLE
    assert "no user's registry hive is loaded" in (result.reason or "")


@pytest.mark.parametrize(
    ("status", "timed_out", "not_found", "code"),
    [("rc=0", False, False, 0), ("rc=3221225477", False, False, 3221225477),
     ("timeout", True, False, None), ("noexec", False, True, None)],
)  # fmt: skip
def test_powershell_command_statuses(status, timed_out, not_found, code) -> None:
    fact = parse_answer(CommandRequest(("x",), "x"), status, b"out", 100)
    assert isinstance(fact, CommandFact)
    assert (fact.timed_out, fact.not_found, fact.exit_status) == (timed_out, not_found, code)


def test_an_error_answer_is_unavailable_whatever_the_request() -> None:
    for request in (FileRequest("C:\\x"), CommandRequest(("x",)), ProcessListRequest()):
        assert isinstance(parse_answer(request, "error", b"", 100), UnavailableFact)
    assert isinstance(parse_answer(CommandRequest(("x",)), "weird", b"", 100), UnavailableFact)


def test_host_facts_come_from_the_registry() -> None:
    machine = WindowsMachine.load(REPO / "tests/hosts/windows_fixtures/ws2022_stock.yml")
    facts = Facts(windows=True)
    for request in OS_REQUESTS:
        assert isinstance(request, RegistryRequest)
        hive, path = split_registry_key(request.key) or ("", "")
        status, data = machine.answer({"kind": "registry", "hive": hive, "path": path})
        facts.by_request[request] = parse_answer(request, status, data, 10**6)
    info = host_info(facts)
    assert info.family == "windows"
    assert info.pretty_name == "Windows Server 2022 Datacenter 21H2"
    assert (info.distribution, info.version, info.kernel) == (
        "ServerDatacenter",
        "20348",
        "10.0.20348.2227",
    )
    assert (info.hostname, info.architecture, info.role) == (
        "WS2022-STOCK",
        "AMD64",
        "member server",
    )
