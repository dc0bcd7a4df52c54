"""A local file: package repository for test hosts, which have no network.

The remediation proof installs packages in test hosts (their /var and /usr are overlays, so
dpkg writes only there). The repository holds the packages asked for and those of their
dependencies this machine lacks (what `apt-get install --simulate` on this machine would
install: a test host's dpkg database is this machine's), downloaded once with `apt-get download`
from the machine's own sources, indexed by dpkg-scanpackages, and cached by content: the same
list of packages and versions is built once, whichever process asks first.

A test host points /etc/apt/sources.list at it (`SOURCES`) and at nothing else.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

_INST = re.compile(r"^Inst (\S+) (?:\[\S+\] )?\((\S+) ")


class RepositoryUnavailable(RuntimeError):
    """The packages could not be downloaded (no network, or the machine's sources lack one)."""


def _run(args: Sequence[str], cwd: Path | None = None) -> str:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive", "LC_ALL": "C"}
    done = subprocess.run(
        list(args), cwd=cwd, capture_output=True, text=True, env=env, timeout=600, check=False
    )
    if done.returncode != 0:
        raise RepositoryUnavailable(f"{' '.join(args)}: {done.stderr.strip()[-2000:]}")
    return done.stdout


def wanted(packages: Sequence[str]) -> list[str]:
    """name=version of each package to put in the repository: those named (their candidate
    version) and the dependencies this machine lacks."""
    # As root even a simulation writes apt's planner log: into a directory of its own here,
    # not this machine's /var/log/apt.
    with tempfile.TemporaryDirectory(prefix="bwk-apt-log-") as logs:
        simulated = _run(
            [
                "apt-get",
                "install",
                "--simulate",
                "--no-install-recommends",
                f"-o=Dir::Log={logs}",
                *packages,
            ]
        )
    found = {m[1]: m[2] for m in map(_INST.match, simulated.splitlines()) if m}
    for name in packages:
        if name not in found:  # installed here already: the host's fake status may drop it
            policy = _run(["apt-cache", "policy", name])
            candidate = re.search(r"^\s*Candidate: (\S+)", policy, re.MULTILINE)
            if candidate is None or candidate[1] == "(none)":
                raise RepositoryUnavailable(f"no candidate version of {name} in apt's lists")
            found[name] = candidate[1]
    return sorted(f"{name}={version}" for name, version in found.items())


def build(packages: Sequence[str], cache: Path) -> Path:
    """The directory of a file: repository holding `packages` (see above), built if needed."""
    pinned = wanted(packages)
    key = hashlib.sha256("\n".join(pinned).encode()).hexdigest()[:16]
    target = cache / key
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / "Packages").exists():
            return target
        work = Path(tempfile.mkdtemp(prefix="build-", dir=cache))
        try:
            _run(["apt-get", "download", *pinned], cwd=work)
            index = _run(["dpkg-scanpackages", "--multiversion", "."], cwd=work)
            (work / "Packages").write_text(index)
            # apt reads file: repositories as its unprivileged _apt user.
            work.chmod(0o755)
            for path in work.iterdir():
                path.chmod(0o644)
            shutil.rmtree(target, ignore_errors=True)
            work.rename(target)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return target


def sources_line(repository: Path) -> str:
    """The one line of a test host's /etc/apt/sources.list: the local repository, unsigned."""
    return f"deb [trusted=yes] file:{repository} ./\n"
