"""rulesets/README.md is the generated catalogue of what rulesets/ holds, kept current."""

from __future__ import annotations

import subprocess
import sys

from tests.rulesets.scenarios import ROOT


def test_the_catalogue_is_up_to_date() -> None:
    generated = subprocess.run(
        [sys.executable, "-m", "workers", "catalogue", "rulesets/"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    on_disk = (ROOT / "rulesets" / "README.md").read_text()
    assert on_disk == generated, "run: python -m workers catalogue rulesets/ > rulesets/README.md"
