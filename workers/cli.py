"""Command line: validate policies, and audit this machine (or a host over SSH) with them.

python -m workers check-policy FILE_OR_DIR... [--json]
python -m workers audit --local --policy FILE_OR_DIR... [--timeout S] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from workers.audit import AuditError, AuditOutcome, run
from workers.catalogue import render as render_catalogue
from workers.engine.definitions import PolicyDefinition, PolicyProblem
from workers.engine.policy import find_cross_policy_duplicates, load_policy
from workers.engine.scoring import summarize
from workers.transports.base import Transport, TransportError
from workers.transports.local import LocalTransport


def policy_files(paths: Sequence[str]) -> Iterator[Path]:
    """Files as given; folders expanded to the *.yml / *.yaml files below them, sorted."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix in (".yml", ".yaml"))
        else:
            yield path


def _problem(problem: PolicyProblem) -> dict[str, Any]:
    return {
        "line": problem.line,
        "check_id": problem.check_id,
        "code": problem.code,
        "message": problem.message,
        "text": str(problem),
    }


def check_policy(args: argparse.Namespace) -> int:
    reports = []
    loaded: list[PolicyDefinition] = []
    for path in policy_files(args.paths):
        result = load_policy(path)
        if result.policy is not None:
            loaded.append(result.policy)
        reports.append((path, result))
    duplicates = find_cross_policy_duplicates(loaded)
    invalid = any(result.policy is None for _, result in reports)
    if args.json:
        files = [
            {
                "path": str(path),
                "valid": result.policy is not None,
                "checks": len(result.policy.checks) if result.policy else 0,
                "errors": [_problem(p) for p in result.errors],
                "warnings": [_problem(p) for p in result.warnings],
            }
            for path, result in reports
        ]
        print(json.dumps({"files": files, "warnings": [_problem(p) for p in duplicates]}, indent=2))
    else:
        for path, result in reports:
            if result.policy is None:
                print(f"INVALID {path}: {len(result.errors)} error(s)")
            else:
                print(
                    f"ok      {path}: {len(result.policy.checks)} checks, "
                    f"{len(result.warnings)} warning(s)"
                )
            for problem in result.errors:
                print(f"  error: {problem}")
            for problem in result.warnings:
                print(f"  warning: {problem}")
        for problem in duplicates:
            print(f"warning: {problem}")
    if not reports:
        print("no policy files found", file=sys.stderr)
        return 2
    return 1 if invalid else 0


def load_policies(paths: Sequence[str]) -> list[PolicyDefinition]:
    policies = []
    failed = False
    for path in policy_files(paths):
        result = load_policy(path)
        for problem in result.errors:
            print(f"error: {problem}", file=sys.stderr)
        if result.policy is None:
            failed = True
        else:
            policies.append(result.policy)
    if failed:
        raise SystemExit(1)
    if not policies:
        print("no policy files found", file=sys.stderr)
        raise SystemExit(2)
    return policies


def outcome_as_dict(outcome: AuditOutcome) -> dict[str, Any]:
    return {
        "host": outcome.host.as_dict(),
        "policies": [
            {
                "id": p.policy.id,
                "name": p.policy.name,
                "status": p.status.value,
                "reason": p.reason,
                "summary": summarize(p.checks).as_dict(),
            }
            for p in outcome.policies
        ],
        "summary": outcome.summary.as_dict(),
        "categories": [c.as_dict() for c in outcome.categories],
        "results": [
            {
                "policy": r.policy_id,
                "check_id": r.check.id,
                "title": r.check.title,
                "status": r.status.value,
                "reason": r.reason,
                "category": r.category,
                "evidence": [e.as_dict() for e in r.evidence],
            }
            for r in outcome.results
        ],
        "collector": {
            "executions": outcome.executions,
            "stages": outcome.stages,
            "seconds": round(outcome.seconds, 3),
        },
    }


def print_table(outcome: AuditOutcome) -> None:
    host = outcome.host
    print(f"Host: {host.hostname} ({host.pretty_name or host.family}, kernel {host.kernel})")
    for policy in outcome.policies:
        note = f": {policy.reason}" if policy.reason else ""
        print(f"Policy {policy.policy.id} [{policy.status.value}]{note}")
    marks = {"passed": "PASS", "failed": "FAIL", "not_applicable": "N/A "}
    for result in outcome.results:
        title = result.check.title[:70]
        print(f"  {marks[result.status.value]}  {result.check.id:>14}  {title}")
        if result.reason:
            print(f"{'':22}{result.reason[:100]}")
    print("\nBy category:")
    for category in outcome.categories:
        shown = "-" if category.score is None else f"{category.score:.0f} %"
        print(f"  ✓ {category.passed:>4}  ✗ {category.failed:>4}  {shown:>6}  {category.category}")
    summary = outcome.summary
    shown = "n/a" if summary.score is None else f"{summary.score:.2f}"
    print(
        f"\nPassed {summary.passed}, failed {summary.failed}, "
        f"not applicable {summary.not_applicable}; score {shown}"
        f"  ({outcome.stages} stage(s), {outcome.seconds:.2f} s)"
    )


def make_transport(args: argparse.Namespace) -> Transport:
    """The transport the arguments ask for."""
    if args.local:
        return LocalTransport()
    return ssh_transport(args)


def _user_host_port(text: str, option: str) -> tuple[str, str, int]:
    user, at, rest = text.rpartition("@")
    if not at or not user or not rest:
        raise SystemExit(f"{option}: expected USER@HOST[:PORT], got {text!r}")
    host, port = rest, 22
    if rest.startswith("["):  # [IPv6]:port
        host, _, tail = rest[1:].partition("]")
        port = int(tail[1:]) if tail.startswith(":") and tail[1:].isdigit() else 22
    elif rest.count(":") == 1:
        host, _, port_text = rest.partition(":")
        if not port_text.isdigit():
            raise SystemExit(f"{option}: bad port {port_text!r}")
        port = int(port_text)
    return user, host, port


def _secret_from_env(variable: str | None, what: str) -> str | None:
    if variable is None:
        return None
    value = os.environ.get(variable)
    if value is None:
        raise SystemExit(f"{what}: environment variable {variable} is not set")
    return value


def ssh_transport(args: argparse.Namespace) -> Transport:
    """An SSHTransport from --ssh and its options. Secrets come only from the environment."""
    # Imported here so a local audit never loads paramiko.
    from workers.transports.ssh import SSHTarget, SSHTransport, SudoMode

    user, host, port = _user_host_port(args.ssh, "--ssh")
    if not (args.key or args.password_env):
        raise SystemExit("--ssh needs --key FILE or --password-env VAR")
    if not (args.known_hosts or args.host_key or args.trust_on_first_use):
        raise SystemExit("--ssh needs --known-hosts, --host-key or --trust-on-first-use")
    jump = None
    if args.jump:
        jump_user, jump_host, jump_port = _user_host_port(args.jump, "--jump")
        jump = SSHTarget(
            host=jump_host,
            port=jump_port,
            user=jump_user,
            private_key_file=args.jump_key or args.key,
            password=None
            if (args.jump_key or args.key)
            else _secret_from_env(args.password_env, "--password-env"),
            host_key=args.jump_host_key,
            known_hosts_file=args.known_hosts,
            connect_timeout=args.connect_timeout,
        )
    sudo = SudoMode.NONE
    if args.sudo_password_env:
        sudo = SudoMode.PASSWORD
    elif args.sudo:
        sudo = SudoMode.NOPASSWD
    try:
        target = SSHTarget(
            host=host,
            port=port,
            user=user,
            private_key_file=args.key,
            passphrase=_secret_from_env(args.passphrase_env, "--passphrase-env"),
            password=_secret_from_env(args.password_env, "--password-env"),
            host_key=args.host_key,
            known_hosts_file=args.known_hosts,
            trust_on_first_use=args.trust_on_first_use,
            sudo=sudo,
            sudo_password=_secret_from_env(args.sudo_password_env, "--sudo-password-env"),
            jump=jump,
            connect_timeout=args.connect_timeout,
        )
    except ValueError as exc:
        raise SystemExit(f"--ssh: {exc}") from exc
    return SSHTransport(target)


def audit(args: argparse.Namespace) -> int:
    policies = load_policies(args.policy)
    transport = make_transport(args)
    try:
        with transport:
            outcome = run(transport, policies, command_timeout=args.timeout)
            seen = transport.seen_host_keys().host
            if args.trust_on_first_use and seen:
                print(f"host key (pin it): {seen}", file=sys.stderr)
    except TransportError as exc:
        kind = "permanent" if exc.permanent else "transient"
        print(f"audit failed ({kind}): {exc}", file=sys.stderr)
        return 3
    except AuditError as exc:
        print(f"audit failed: {exc}", file=sys.stderr)
        return 3
    if args.json:
        print(json.dumps(outcome_as_dict(outcome), indent=2, ensure_ascii=False))
    else:
        print_table(outcome)
    return 0


def catalogue(args: argparse.Namespace) -> int:
    policies = load_policies(args.paths)
    root = args.paths[0].rstrip("/") + "/" if len(args.paths) == 1 else ""
    print(render_catalogue(sorted(policies, key=lambda p: p.path), root), end="")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m workers", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    check = commands.add_parser("check-policy", help="validate policy files")
    check.add_argument("paths", nargs="+", help="policy files or folders of them")
    check.add_argument("--json", action="store_true", help="machine-readable output")
    check.set_defaults(handler=check_policy)

    table = commands.add_parser("catalogue", help="print the Markdown table of policies")
    table.add_argument("paths", nargs="+", help="policy files or folders of them")
    table.set_defaults(handler=catalogue)

    run_audit = commands.add_parser("audit", help="audit a host")
    target = run_audit.add_mutually_exclusive_group(required=True)
    target.add_argument("--local", action="store_true", help="audit this machine")
    target.add_argument("--ssh", metavar="USER@HOST[:PORT]", help="audit a host over SSH")
    run_audit.add_argument("--policy", nargs="+", required=True, help="policy files or folders")
    run_audit.add_argument(
        "--timeout", type=float, default=150.0, help="per-command timeout in seconds (default 150)"
    )
    run_audit.add_argument("--json", action="store_true", help="machine-readable output")
    _add_ssh_options(run_audit)
    run_audit.set_defaults(handler=audit)
    return parser


def _add_ssh_options(parser: argparse.ArgumentParser) -> None:
    ssh = parser.add_argument_group("SSH options (with --ssh)")
    auth = ssh.add_mutually_exclusive_group()
    auth.add_argument("--key", help="private key file")
    auth.add_argument(
        "--password-env", metavar="VAR", help="environment variable with the password"
    )
    ssh.add_argument(
        "--passphrase-env", metavar="VAR", help="environment variable with the key's passphrase"
    )
    keys = ssh.add_mutually_exclusive_group()
    keys.add_argument("--known-hosts", help="known_hosts file holding the host's key")
    keys.add_argument("--host-key", help="the host's public key line, e.g. 'ssh-ed25519 AAAA...'")
    keys.add_argument(
        "--trust-on-first-use",
        action="store_true",
        help="accept an unknown host key and print it for pinning",
    )
    ssh.add_argument("--sudo", action="store_true", help="run the collector as root with sudo -n")
    ssh.add_argument(
        "--sudo-password-env",
        metavar="VAR",
        help="run the collector with sudo, password read from this variable",
    )
    ssh.add_argument("--jump", metavar="USER@HOST[:PORT]", help="jump host (ProxyJump)")
    ssh.add_argument("--jump-key", help="private key file for the jump host")
    ssh.add_argument("--jump-host-key", help="the jump host's public key line")
    ssh.add_argument("--connect-timeout", type=float, default=10.0)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.handler(args)
    return result
