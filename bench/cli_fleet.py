"""The CLI over an inventory: wall time of one `audit --inventory` run of N SSH test hosts with
--forks F, against the sum of the hosts' own audit times.

    .venv/bin/python bench/cli_fleet.py [--hosts 20] [--forks 1 10] [--policy rulesets/linux]

Starts N test hosts (needs root), writes a YAML inventory with their pinned keys, and runs the
command line as a user would (a subprocess, JSON output). Prints, per --forks value, the wall
time, hosts per second, and the speed-up over the first --forks value's wall time (give 1 first
for the speed-up over auditing the hosts one after another).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lab.harness import HostSpec, TestHosts  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--forks", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--policy", nargs="+", default=["rulesets/linux"])
    args = parser.parse_args()
    with TestHosts() as manager, tempfile.TemporaryDirectory() as folder:
        hosts = manager.start_many([HostSpec(name=f"bench-{n:02d}") for n in range(args.hosts)])
        known = Path(folder) / "known_hosts"
        known.write_text("".join(f"[{h.address}]:{h.port} {h.host_key_line}\n" for h in hosts))
        inventory = Path(folder) / "hosts.yml"
        inventory.write_text(
            yaml.safe_dump(
                {
                    "all": {
                        "vars": {
                            "ansible_user": "root",
                            "ansible_ssh_private_key_file": hosts[0].client_key_path,
                            "bulwark_known_hosts": str(known),
                        },
                        "hosts": {
                            h.name: {"ansible_host": h.address, "ansible_port": h.port}
                            for h in hosts
                        },
                    }
                }
            )
        )
        print(f"{args.hosts} hosts, policies {' '.join(args.policy)}")
        first_wall = 0.0
        for forks in args.forks:
            command = ["audit", "--inventory", str(inventory), "--forks", str(forks)]
            command += ["--format", "json", "--policy", *args.policy]
            started = time.monotonic()
            done = subprocess.run(
                [sys.executable, "-m", "workers", *command],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=False,
            )
            wall = time.monotonic() - started
            report = json.loads(done.stdout)
            own = sum(h["result"]["collector"]["seconds"] for h in report["hosts"] if h["result"])
            audited = report["summary"]["audited"]
            first_wall = first_wall or wall
            print(
                f"forks {forks:>3}: exit {done.returncode}, {audited}/{args.hosts} audited, "
                f"wall {wall:6.1f} s, {audited / wall:5.2f} hosts/s, "
                f"sum of per-host audit times {own:6.1f} s, speed-up x{first_wall / wall:4.1f}"
            )


if __name__ == "__main__":
    main()
