"""Conflict keys of the scenario batching (tests/rulesets/batches.py), on the cases that made
checks pass on both shared hosts and be judged again alone: a stand-in `ss` hiding the sockets a
scenario's process opened, and a bind mount of /var hiding a fake dpkg status below it."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from tests.rulesets.batches import batches, covers, mount_points, named_paths, touched
from tests.rulesets.scenarios import ROOT, load_scenarios

LINUX = ROOT / "rulesets" / "linux"
DPKG = (
    "cp /var/lib/dpkg/status /run/dpkg-status && printf '\\nPackage: rsh-client\\n' >>"
    " /run/dpkg-status && mount --bind /run/dpkg-status /var/lib/dpkg/status"
)
VAR = "mount --bind /var /var && mount -o remount,bind,nodev /var"
LISTENER = "exec python3 -c 'import socket'"


def test_a_mount_hides_what_another_scenario_put_below_it_however_deep() -> None:
    assert mount_points({"setup": [VAR]}) == {PurePosixPath("/var")}
    assert mount_points({"setup": ["while umount -l /dev/shm 2>/dev/null; do :; done"]}) == {
        PurePosixPath("/dev/shm")
    }
    assert mount_points({"setup": ["mount -o remount,bind,nodev /home"]}) == set()
    below = named_paths({"setup": [DPKG]})
    assert covers(mount_points({"setup": [VAR]}), below)
    assert not covers(mount_points({"setup": ["mount -t tmpfs tmpfs /srv"]}), below)
    # A mount point is not below itself: a check may mount the directory it names.
    assert not covers(mount_points({"setup": [VAR]}), named_paths({"setup": [VAR]}))


def test_a_stand_in_for_a_socket_viewer_conflicts_with_real_processes() -> None:
    stand_in = touched({"commands": {"ss": {"-Htuln": "tcp LISTEN 0 128 0.0.0.0:22 0.0.0.0:*\n"}}})
    auditctl = touched({"commands": {"auditctl": {"-l": ""}}})
    process = touched({"processes": [LISTENER]})
    assert stand_in is not None and auditctl is not None and process is not None
    assert stand_in & process
    assert not auditctl & process


def _batch_of(path: Path, check_id: str) -> tuple[str, ...]:
    return next(ids for ids in batches(path) if check_id in ids)


@pytest.mark.parametrize(
    ("stem", "check_id"),
    [("bulwark_debian12", "bwk-deb12-0194"), ("bulwark_ubuntu2204", "bwk-u2204-0064")],
)
def test_the_mail_checks_never_share_hosts_with_a_stand_in_ss(stem: str, check_id: str) -> None:
    path = LINUX / f"{stem}.yml"
    _base, scenarios = load_scenarios(path)
    assert any(scenarios[check_id][kind].get("processes") for kind in ("pass", "fail"))
    with_ss = [
        other
        for other in _batch_of(path, check_id)
        for kind in ("pass", "fail")
        if "ss" in ((scenarios[other][kind] or {}).get("commands") or {})
    ]
    assert with_ss == []


def test_the_rsh_client_check_never_shares_hosts_with_a_mount_over_var() -> None:
    path = LINUX / "bulwark_debian12.yml"
    _base, scenarios = load_scenarios(path)
    status = PurePosixPath("/var/lib/dpkg/status")
    assert status in named_paths(scenarios["bwk-deb12-0006"]["fail"])
    hiding = [
        other
        for other in _batch_of(path, "bwk-deb12-0006")
        if covers(mount_points(scenarios[other]["fail"] or {}), {status})
    ]
    assert hiding == []
