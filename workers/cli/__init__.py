"""Command line of the audit runtime (docs/cli.md).

python -m workers check-policy FILE_OR_DIR... [--json]
python -m workers audit (--local | --ssh U@H[:P] | --winrm U@H[:P] | --inventory FILE) --policy ...
python -m workers explain POLICY CHECK_ID
python -m workers remediate --from RESULTS.json [--format sh|ansible|powershell]
python -m workers catalogue rulesets/
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from workers.cli.explain import explain
from workers.cli.fleet import audit_fleet, audit_one
from workers.cli.inventory import InventoryError, limit, load_inventory
from workers.cli.output import EXIT_INVALID_INPUT, FORMATS, exit_code, write_outputs
from workers.cli.policies import catalogue, check_policy, load_policies
from workers.cli.remediate import add_parser as add_remediate
from workers.cli.targets import HostTarget, command_line_target


def audit(args: argparse.Namespace) -> int:
    args.formats = _formats(args)
    if len(args.formats) > 1 and not args.output_dir:
        raise SystemExit("several --format values need --output-dir")
    policies = load_policies(args.policy)
    single = not args.inventory
    if single:
        targets: list[HostTarget] = [command_line_target(args)]
    else:
        try:
            targets = load_inventory(args.inventory)
        except InventoryError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_INVALID_INPUT
        if args.limit:
            targets = limit(targets, args.limit)
        if not targets:
            print("no host in the inventory matches", file=sys.stderr)
            return EXIT_INVALID_INPUT
    if single:
        runs = [audit_one(targets[0], policies, args)]
        if runs[0].outcome is None:
            print(f"audit failed: {runs[0].error}", file=sys.stderr)
    else:
        runs = audit_fleet(targets, policies, args)
    for run in runs:
        if run.host_key:
            print(f"{run.target.name}: host key (pin it): {run.host_key}", file=sys.stderr)
    if any(run.outcome is not None for run in runs) or not single:
        write_outputs(args, runs, single)
    return exit_code(args, runs)


def _formats(args: argparse.Namespace) -> list[str]:
    chosen: list[str] = []
    for value in args.format or (["json"] if args.json else ["table"]):
        for kind in value.split(","):
            kind = kind.strip()
            if kind not in FORMATS:
                raise SystemExit(f"--format: unknown {kind!r} (choose from {', '.join(FORMATS)})")
            if kind not in chosen:
                chosen.append(kind)
    return chosen


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

    words = commands.add_parser("explain", help="what a check looks at, in words")
    words.add_argument("policy", help="policy file (or folder)")
    words.add_argument("check_id", help="the check's id")
    words.set_defaults(handler=explain)
    add_remediate(commands)

    run_audit = commands.add_parser("audit", help="audit hosts")
    target = run_audit.add_mutually_exclusive_group(required=True)
    target.add_argument("--local", action="store_true", help="audit this machine")
    target.add_argument("--ssh", metavar="USER@HOST[:PORT]", help="audit a host over SSH")
    target.add_argument("--winrm", metavar="USER@HOST[:PORT]", help="audit a host over WinRM")
    target.add_argument("--inventory", metavar="FILE", help="Ansible INI/YAML inventory or CSV")
    run_audit.add_argument("--policy", nargs="+", required=True, help="policy files or folders")
    run_audit.add_argument("--limit", metavar="PATTERN", help="hosts or groups of the inventory")
    run_audit.add_argument(
        "--forks", type=int, default=10, help="hosts audited at once (default 10)"
    )
    run_audit.add_argument(
        "--timeout", type=float, default=150.0, help="per-command timeout in seconds (default 150)"
    )
    run_audit.add_argument(
        "--format",
        action="append",
        metavar="FORMAT[,FORMAT]",
        help=f"output format: {', '.join(FORMATS)} (several with --output-dir)",
    )
    run_audit.add_argument("--output-dir", metavar="DIR", help="write each format to a file here")
    run_audit.add_argument("--title", help="the exports' title")
    run_audit.add_argument("--json", action="store_true", help="same as --format json")
    run_audit.add_argument(
        "--fail-under", type=float, metavar="SCORE", help="exit 4 when a host scores below this"
    )
    run_audit.add_argument(
        "--fail-on",
        action="append",
        default=[],
        choices=["failed"],
        help="exit 4 when any check failed",
    )
    run_audit.add_argument(
        "--no-progress", action="store_true", help="plain progress lines even on a terminal"
    )
    _add_ssh_options(run_audit)
    _add_winrm_options(run_audit)
    run_audit.set_defaults(handler=audit)
    return parser


def _add_ssh_options(parser: argparse.ArgumentParser) -> None:
    ssh = parser.add_argument_group("SSH options (--ssh, and SSH hosts of an inventory)")
    ssh.add_argument("--key", help="private key file")
    ssh.add_argument(
        "--password-env",
        metavar="VAR",
        help="environment variable with the password (SSH without --key, or WinRM)",
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


def _add_winrm_options(parser: argparse.ArgumentParser) -> None:
    winrm = parser.add_argument_group("WinRM options (--winrm, and WinRM hosts of an inventory)")
    winrm.add_argument(
        "--winrm-auth",
        choices=["ntlm", "basic", "kerberos"],
        default="ntlm",
        help="authentication (default ntlm; kerberos needs pywinrm[kerberos])",
    )
    winrm.add_argument(
        "--ca-file",
        metavar="PEM",
        help="CA certificates (or the host's own self-signed certificate) to trust for HTTPS",
    )
    winrm.add_argument(
        "--winrm-http",
        action="store_true",
        help="plain HTTP on 5985 instead of HTTPS (NTLM and Kerberos still encrypt messages)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.handler(args)
    return result
