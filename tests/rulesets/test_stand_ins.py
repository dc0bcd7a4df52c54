"""The `commands` scenario key (tests/rulesets/scenarios.py): stand-in programs that print what
the scenario says the kernel has loaded, in the real programs' format."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.rulesets.batches import touched
from tests.rulesets.scenarios import STAND_INS, host_spec, stand_ins_setup

LOADED = "-w /etc/sudoers -p wa -k scope\n-a always,exit -F arch=b64 -S execve -F key=exec\n"


def _install(tmp_path: Path, programs: dict[str, dict[str, Any]]) -> Path:
    """Run the setup line with the stand-ins' folder moved to tmp_path (no mount needed)."""
    line = stand_ins_setup(programs)
    mount, _, rest = line.partition(" && ")
    assert mount == f"mount -t tmpfs -o mode=0755,size=1m tmpfs {STAND_INS}"
    subprocess.run(["sh", "-c", rest.replace(STAND_INS, str(tmp_path))], check=True)
    return tmp_path


def test_a_stand_in_prints_its_output_for_its_arguments_only(tmp_path: Path) -> None:
    folder = _install(
        tmp_path, {"auditctl": {"-l": LOADED, "-s": "enabled 2\n"}, "aa-status": {"": "x\n"}}
    )
    run = lambda *argv: subprocess.run(argv, capture_output=True, text=True)  # noqa: E731
    assert run(str(folder / "auditctl"), "-l").stdout == LOADED
    assert run(str(folder / "auditctl"), "-s").stdout == "enabled 2\n"
    assert run(str(folder / "aa-status")).stdout == "x\n"
    refused = run(str(folder / "auditctl"), "-D")
    assert refused.returncode == 1 and refused.stdout == "" and "not served" in refused.stderr


def test_the_key_becomes_a_setup_line_and_bad_names_are_refused() -> None:
    spec = host_spec("h", {}, {"commands": {"nft": {"list ruleset": ""}}})
    assert spec.setup[-1].startswith(f"mount -t tmpfs -o mode=0755,size=1m tmpfs {STAND_INS}")
    with pytest.raises(ValueError, match="plain command names"):
        stand_ins_setup({"../sh": {"": ""}})


def test_two_scenarios_with_the_same_stand_in_never_share_a_host() -> None:
    one = touched({"commands": {"auditctl": {"-l": LOADED}}})
    other = touched({"commands": {"auditctl": {"-l": ""}}})
    nft = touched({"commands": {"nft": {"list ruleset": ""}}})
    assert one is not None and other is not None and nft is not None
    assert one & other
    assert not one & nft


def test_an_output_may_be_a_file_the_scenarios_setup_writes(tmp_path: Path) -> None:
    loaded = tmp_path / "loaded"
    folder = _install(tmp_path, {"auditctl": {"-l": {"file": str(loaded)}}})
    loaded.write_text(LOADED)  # after the stand-in exists: it reads the file when called
    done = subprocess.run([str(folder / "auditctl"), "-l"], capture_output=True, text=True)
    assert done.stdout == LOADED
    for bad in ({"file": "relative"}, {"file": "/x", "text": "y"}, {"path": "/x"}):
        with pytest.raises(ValueError, match="ABSOLUTE PATH"):
            stand_ins_setup({"auditctl": {"-l": bad}})
