"""The remediation proof for the fixes of the Windows policies (registry, audit policy through
auditpol, security policy through secedit), over real WinRM: one
simulated machine per policy on which every check with a PowerShell fix fails at once (the `fail`
overlays of tests/rulesets/windows_scenarios/ applied together); the generated script, run
through pywinrm on the WinRM test server (tests/hosts/windows_script.py emulates the subset of
PowerShell 5.1 the fixes use), changes nothing in its dry run, makes the re-audit pass, and
changes nothing when applied again."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import winrm
from winrm.protocol import Protocol

from tests.hosts.windows_machine import WindowsMachine, load_spec
from tests.hosts.windows_script import STDIN_BOOTSTRAP, encoded
from tests.hosts.winrm_server import WinRMServer
from tests.hosts.winrm_support import FIXTURES, PASSWORD, USER, target
from tests.rulesets.test_windows_scenarios import _scenarios, apply_overlay
from workers.audit import AuditOutcome, run
from workers.engine.definitions import PolicyDefinition
from workers.engine.policy import load_policy
from workers.remediation import powershell
from workers.remediation.plan import make_plan
from workers.transports.winrm import WinRMTransport

pytestmark = pytest.mark.slow  # make test-fast leaves it out

ROOT = Path(__file__).resolve().parents[3]
POLICIES = sorted((ROOT / "rulesets" / "windows").glob("*.yml"))


def load(path: Path) -> PolicyDefinition:
    loaded = load_policy(path)
    assert loaded.policy is not None, loaded.errors
    return loaded.policy


def fixable(policy: PolicyDefinition) -> set[str]:
    return {c.id for c in policy.checks if c.fix is not None and c.fix.powershell}


def failing_machine(path: Path, policy: PolicyDefinition) -> WindowsMachine:
    base, scenarios = _scenarios(path)
    spec = load_spec(FIXTURES / f"{base}.yml")
    for check_id in sorted(fixable(policy)):
        spec = apply_overlay(spec, scenarios[check_id]["fail"])
    return WindowsMachine(copy.deepcopy(spec))


def audit(server: WinRMServer, policy: PolicyDefinition) -> AuditOutcome:
    with WinRMTransport(target(server, auth="basic")) as transport:
        return run(transport, [policy], command_timeout=10)


def statuses(outcome: AuditOutcome) -> dict[str, str]:
    return {r.check.id: r.status.value for r in outcome.results}


def machine_state(machine: WindowsMachine) -> dict[str, object]:
    """Every key and value of every view, the security policy (secedit's export), the audit
    policy, the accounts and the files (temporary ones left behind would show), to compare
    before and after a run."""
    state: dict[str, object] = {
        f"{view}:{lookup}": sorted(key.values.values())
        for view, keys in machine.views.items()
        for lookup, key in keys.items()
    }
    state["secedit"] = machine.spec.get("secedit")
    state["audit_policy"] = copy.deepcopy(machine.spec.get("audit_policy"))
    state["accounts"] = copy.deepcopy(machine.spec.get("accounts"))
    state["files"] = sorted(machine.files)
    return state


def apply(server: WinRMServer, script: str, *, check: bool = False) -> tuple[int, str]:
    """Run the script as one would over WinRM on a real host: through stdin, read by a short
    -EncodedCommand bootstrap (the script itself is far beyond cmd.exe's 8,191 characters,
    which the test server enforces)."""
    text = f"& {{\n{script}\n}} -Check" if check else script
    protocol = Protocol(
        server.url, transport="basic", username=USER, password=PASSWORD, ca_trust_path=None
    )
    shell = protocol.open_shell()
    try:
        command = protocol.run_command(
            shell, "powershell.exe", ["-NoProfile", "-EncodedCommand", encoded(STDIN_BOOTSTRAP)]
        )
        data = text.encode("utf-8")
        step = 64 * 1024
        for start in range(0, len(data), step):
            end = start + step >= len(data)
            protocol.send_command_input(shell, command, data[start : start + step], end=end)
        out, err, code = protocol.get_command_output(shell, command)
        protocol.cleanup_command(shell, command)
    finally:
        protocol.close_shell(shell)
    return code, (out + err).decode()


def test_a_long_script_cannot_ride_on_the_command_line() -> None:
    """Why apply() uses stdin: run_ps's -EncodedCommand form is refused past 8,191 characters.
    Twenty steps are enough for that (a whole policy's script would first exceed WinRM's
    500 KB envelope, a fault of its own)."""
    policy = load(POLICIES[0])
    machine = failing_machine(POLICIES[0], policy)
    plan = make_plan("win", {(policy.id, c) for c in sorted(fixable(policy))[:20]}, [policy])
    script = powershell.render(plan)
    assert 8191 < len(encoded(script)) < 200_000
    server = WinRMServer(machine, users={USER: PASSWORD}).start()
    try:
        session = winrm.Session(
            server.url, auth=(USER, PASSWORD), transport="basic", server_cert_validation="ignore"
        )
        done = session.run_ps(script)
        assert done.status_code == 1 and b"The command line is too long." in done.std_err
        code, output = apply(server, script, check=True)
        assert code == 0 and "would    " in output, output
    finally:
        server.stop()


def test_every_windows_policy_has_registry_fixes() -> None:
    assert all(fixable(load(path)) for path in POLICIES)


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.stem)
def test_every_windows_fix_is_proven_by_the_powershell_script(path: Path) -> None:
    policy = load(path)
    wanted = fixable(policy)
    kinds = [c.fix.powershell.split(" ", 1)[0] for c in policy.checks if c.id in wanted]  # type: ignore[union-attr]
    # registry, auditpol and secedit (exact lists and numbers, and additions) steps alike
    assert {"auditpol.exe", "Set-BulwarkSecurityPolicy", "Add-BulwarkUserRight"} <= set(kinds)
    machine = failing_machine(path, policy)
    server = WinRMServer(machine, users={USER: PASSWORD}).start()
    try:
        before = audit(server, policy)
        assert sorted(c for c in wanted if statuses(before)[c] != "failed") == []
        failed = {(r.policy_id, r.check.id) for r in before.results if r.status.value == "failed"}
        plan = make_plan("win", failed, [policy])
        script = powershell.render(plan)

        untouched = machine_state(machine)
        code, output = apply(server, script, check=True)
        assert code == 0, output
        assert output.count("would    ") == len(wanted), output
        # no step fixed anything ("fixed" alone would also match titles: "fixed data drives")
        assert not [line for line in output.splitlines() if line.startswith("fixed")], output
        assert machine_state(machine) == untouched  # the dry run changed nothing

        code, output = apply(server, script)
        assert code == 0, output
        assert output.count("fixed    ") == len(wanted) and "FAILED" not in output, output
        after = statuses(audit(server, policy))
        assert sorted(c for c in wanted if after[c] != "passed") == []
        assert not [
            c for c, s in statuses(before).items() if s == "passed" and after[c] != "passed"
        ]

        fixed = machine_state(machine)
        code, output = apply(server, script)
        assert code == 0, output
        assert output.count("ok       ") == len(wanted), output
        assert "0 step(s) changed the host, 0 failed" in output
        assert machine_state(machine) == fixed  # a second run changes nothing
    finally:
        server.stop()
    assert machine.mismatches == []


@pytest.mark.parametrize(
    ("written", "changed"),
    [
        ("-PropertyType DWord", "-PropertyType QWord"),
        ("/success:enable /failure:enable", "/success:enable /failure:enable /quiet"),
        ("Set-BulwarkSecurityPolicy 'SECURITYPOLICY'", "Set-BulwarkSecurityPolicy 'REGKEYS'"),
    ],
    ids=["registry", "auditpol", "secedit"],
)
def test_the_emulation_refuses_what_it_does_not_know(written: str, changed: str) -> None:
    """A statement outside the emulated subset fails its step: nothing unproven can pass."""
    policy = load(POLICIES[0])
    check = next(
        c for c in policy.checks if c.id in fixable(policy) and written in c.fix.powershell
    )  # type: ignore[union-attr]
    machine = failing_machine(POLICIES[0], policy)
    plan = make_plan("win", {(policy.id, check.id)}, [policy])
    script = powershell.render(plan).replace(written, changed)
    server = WinRMServer(machine, users={USER: PASSWORD}).start()
    try:
        code, output = apply(server, script)
    finally:
        server.stop()
    assert code == 1 and "FAILED" in output, output
    assert ("not an emulated fix statement" in output) != (changed.endswith("'REGKEYS'")), output
    if changed.endswith("'REGKEYS'"):  # emulated statement, an area secedit is not taught here
        assert "secedit /configure exited with 1" in output, output
