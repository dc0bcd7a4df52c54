"""The WS-Management test server: unmodified pywinrm works against it, and whole Windows audits
run through WinRMTransport + the PowerShell collector against its two fixture machines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import winrm
from winrm.exceptions import WinRMOperationTimeoutError, WSManFaultError
from winrm.protocol import Protocol

from tests.hosts.windows_machine import WindowsMachine
from tests.hosts.winrm_server import CMD_LINE_LIMIT
from tests.hosts.winrm_support import PASSWORD, PKI, USER, target
from tests.shared_data import shared_data_dir
from workers.audit import AuditOutcome, run
from workers.collect.powershell import COMMAND
from workers.engine.evaluate import CheckStatus, PolicyStatus
from workers.engine.policy import load_policy, load_policy_text
from workers.transports.winrm import WinRMTransport

pytest_plugins = ("tests.hosts.winrm_fixtures",)

# Checks of cis_win2022.yml that fail on the stock server and pass once hardened, one per way
# the collector learns things: secedit through PowerShell, `net user`, the registry, auditpol.
FLIPS = {
    "27003": "Minimum password length (secedit export)",
    "27011": "Rename administrator account (net user)",
    "27013": "Force audit policy subcategory settings (registry, Lsa)",
    "27031": "Logon message text (reg query)",
    "27080": "Domain firewall on (registry, policy key absent when stock)",
    "27106": "Audit Credential Validation (auditpol)",
}


def _cis_win2022():
    loaded = load_policy(shared_data_dir() / "wazuh-sca-5x" / "windows" / "cis_win2022.yml")
    assert loaded.policy is not None
    return loaded.policy


def _statuses(outcome: AuditOutcome) -> dict[str, CheckStatus]:
    return {r.check.id: r.status for r in outcome.results}


# -- pywinrm, unmodified ---------------------------------------------------------------------------


def test_an_unmodified_pywinrm_session_runs_commands_over_https(windows_server, pki: PKI) -> None:
    server = windows_server("ws2022_hardened", tls=pki.localhost)
    session = winrm.Session(
        server.url,
        auth=(USER, PASSWORD),
        transport="ntlm",
        server_cert_validation="validate",
        ca_trust_path=str(pki.ca.cert_path),
    )
    result = session.run_cmd("auditpol.exe", ["/get", "/category:*", "/r"])
    assert result.status_code == 0
    assert b"WS2022-HARD,System,Credential Validation,{0CCE923F-69AE-11D9-BED3-505054503030}" in (
        result.std_out
    )
    missing = session.run_cmd("no-such-program.exe")
    assert missing.status_code == 1 and b"not recognized" in missing.std_err
    assert server.actions.count("Create") == 2 and server.actions.count("Delete") == 2


def test_a_command_line_longer_than_cmd_takes_is_refused_like_windows(windows_server) -> None:
    server = windows_server()
    session = winrm.Session(server.url, auth=(USER, PASSWORD), transport="basic")
    head = "auditpol.exe /get /subcategory:Logon "
    at_limit = session.run_cmd(head + "x" * (CMD_LINE_LIMIT - len(head)))
    assert b"too long" not in at_limit.std_err
    over = session.run_cmd(head + "x" * (CMD_LINE_LIMIT - len(head) + 1))
    assert over.status_code == 1 and b"The command line is too long." in over.std_err


@pytest.mark.slow  # a timer: waits out the long poll
def test_receive_long_polls_and_times_out_like_windows(windows_server) -> None:
    server = windows_server()
    protocol = Protocol(
        server.url,
        transport="basic",
        username=USER,
        password=PASSWORD,
        read_timeout_sec=5,
        operation_timeout_sec=1,
        ca_trust_path=None,
    )
    shell = protocol.open_shell()
    command = protocol.run_command(shell, "powershell.exe", ["-NoProfile", "-Command", "-"])
    with pytest.raises(WinRMOperationTimeoutError):
        protocol.get_command_output_raw(shell, command)  # nothing written yet: no output
    protocol.send_command_input(shell, command, b"", end=True)
    assert protocol.get_command_output(shell, command) == (b"", b"", 0)
    protocol.cleanup_command(shell, command)
    protocol.close_shell(shell)  # pywinrm checks RelatesTo against its MessageID here
    with pytest.raises(WSManFaultError) as caught:
        protocol.run_command(shell, "powershell.exe")
    assert caught.value.wsman_fault_code == 2150858843  # the shell is gone


def test_large_output_comes_back_in_chunks(windows_server) -> None:
    machine = WindowsMachine({"commands": {"type big.log": "x" * 300_000}})
    server = windows_server(machine, chunk=16_384)
    session = winrm.Session(
        server.url, auth=(USER, PASSWORD), transport="basic", ca_trust_path=None
    )
    result = session.run_cmd("type big.log")
    assert result.std_out == b"x" * 300_000
    assert server.actions.count("Receive") >= 300_000 // (3 * 16_384)


# -- whole audits ----------------------------------------------------------------------------------


def _audit(server, **options) -> tuple[AuditOutcome, WinRMTransport]:
    transport = WinRMTransport(target(server, **options))
    with transport:
        outcome = run(transport, [_cis_win2022()], command_timeout=10)
    assert server.machine.mismatches == []
    return outcome, transport


def test_cis_win2022_scores_differ_as_expected_over_https(windows_server, pki: PKI) -> None:
    results = {}
    for name in ("ws2022_stock", "ws2022_hardened"):
        server = windows_server(name, tls=pki.localhost)
        outcome, transport = _audit(server, auth="ntlm", ca_bundle=str(pki.ca.cert_path))
        # One collector command per audit, in one shell, fed in two stages.
        assert server.commands == [COMMAND]
        assert (server.shells_created, transport.executions, outcome.executions) == (1, 1, 1)
        assert outcome.stages == 2 == server.machine.stages
        assert outcome.summary.not_applicable == 0
        assert outcome.host.family == "windows" and outcome.host.role == "member server"
        results[name] = outcome
    stock, hardened = results["ws2022_stock"], results["ws2022_hardened"]
    assert stock.host.hostname == "WS2022-STOCK" and hardened.host.hostname == "WS2022-HARD"
    assert stock.summary.score is not None and hardened.summary.score is not None
    assert stock.summary.score < 35 < 90 < hardened.summary.score
    before, after = _statuses(stock), _statuses(hardened)
    for check_id in FLIPS:
        assert (before[check_id], after[check_id]) == (CheckStatus.FAILED, CheckStatus.PASSED)
    # The guest account is disabled out of the box: that check passes both ways.
    assert before["27009"] is after["27009"] is CheckStatus.PASSED


@pytest.mark.parametrize("auth", ["ntlm", "basic"])
def test_the_same_audit_runs_over_http_when_allowed(windows_server, auth) -> None:
    server = windows_server("ws2022_hardened")
    outcome, _ = _audit(server, auth=auth)
    assert server.commands == [COMMAND]
    assert outcome.summary.passed > 300
    assert (server.encrypted_requests > 0) is (auth == "ntlm")


def test_policies_for_another_windows_do_not_apply(windows_server) -> None:
    folder = shared_data_dir() / "wazuh-sca-5x" / "windows"
    win11 = load_policy(folder / "cis_win11_enterprise.yml").policy
    assert win11 is not None
    server = windows_server("ws2022_stock")
    with WinRMTransport(target(server)) as transport:
        outcome = run(transport, [_cis_win2022(), win11], command_timeout=10)
    by_policy = {p.policy.id: p for p in outcome.policies}
    assert by_policy["cis_win2022"].status is PolicyStatus.APPLICABLE
    assert by_policy["cis_win11_enterprise"].status is PolicyStatus.NOT_APPLICABLE
    win11_statuses = {c.status for c in by_policy["cis_win11_enterprise"].checks}
    assert win11_statuses <= {CheckStatus.NOT_APPLICABLE}
    assert server.commands == [COMMAND]


TRICKY_KEY = "HKLM\\SOFTWARE\\Bulwark Test\\it's ‘quoted’ $env:X `n %NAME% 管理者"
TRICKY_COMMAND = 'tool.exe /name:"it\'s $HOME `n" 100%'


def _tricky_policy(tmp_path: Path):
    rules = [
        f"r:{TRICKY_KEY} -> Välue 'q' -> r:^\\$x `y` 100%$",
        f"c:{TRICKY_COMMAND} -> r:^ok 管理者$",
        "c:%SystemRoot%\\SysNative\\tool.exe -> r:^native$",
        "c:timeout.exe -> r:never",
    ]
    checks = "".join(
        f"  - id: {i}\n    title: t{i}\n    condition: all\n    rules: [{json.dumps(rule)}]\n"
        for i, rule in enumerate(rules, 1)
    )
    text = f"policy: {{id: tricky, file: t.yml, name: t, description: d}}\nchecks:\n{checks}"
    loaded = load_policy_text(text, str(tmp_path / "t.yml"))
    assert loaded.policy is not None, loaded.errors
    return loaded.policy


def test_tricky_registry_paths_and_commands_reach_the_host_intact(windows_server, tmp_path) -> None:
    machine = WindowsMachine(
        {
            "env": {"SystemRoot": "C:\\Windows"},
            "registry": {TRICKY_KEY: {"Välue 'q'": "$x `y` 100%"}},
            "commands": {
                TRICKY_COMMAND: "ok 管理者",
                "C:\\Windows\\SysNative\\tool.exe": "native",
                "timeout.exe": {"timeout": True},
            },
        }
    )
    server = windows_server(machine)
    with WinRMTransport(target(server)) as transport:
        outcome = run(transport, [_tricky_policy(tmp_path)], command_timeout=10)
    statuses = {r.check.id: (r.status, r.reason) for r in outcome.results}
    assert machine.mismatches == []
    assert statuses["1"][0] is CheckStatus.PASSED
    assert statuses["2"][0] is CheckStatus.PASSED
    assert statuses["3"][0] is CheckStatus.PASSED  # %SystemRoot% expanded on the host
    assert statuses["4"][0] is CheckStatus.NOT_APPLICABLE and "timed out" in statuses["4"][1]
