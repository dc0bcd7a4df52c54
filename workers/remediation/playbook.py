"""The Ansible playbook: the checks' own idempotent tasks (and the sshd shorthand's), each task
named after its check and CIS id. `ansible-playbook --check --diff` is the dry run."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import yaml

from workers.remediation import mounts, packages, services, sshd, sysctl
from workers.remediation.plan import Plan


def render(plan: Plan) -> str:
    tasks: list[dict[str, Any]] = []
    handlers: list[dict[str, Any]] = []
    skipped = []
    for step in plan.steps:
        fix = step.fix
        assert fix is not None
        label = step.heading
        if fix.sshd:
            tasks += sshd.ansible_tasks(fix.sshd, label)
            if sshd.ANSIBLE_HANDLER not in handlers:
                handlers.append(sshd.ANSIBLE_HANDLER)
        if fix.sysctl:
            tasks += sysctl.ansible_tasks(fix.sysctl, label)
        if fix.disable_units or fix.end_processes:
            tasks += services.ansible_tasks(fix.disable_units, fix.end_processes, label)
        if fix.purge_packages:
            tasks += packages.ansible_tasks(fix.purge_packages, label)
        if fix.install_packages:
            tasks += packages.ansible_install_tasks(fix.install_packages, label)
        if fix.enable_units:  # after the install: the package brings the unit
            tasks += services.ansible_enable_tasks(fix.enable_units, label)
        if fix.mount_options:
            tasks += mounts.ansible_tasks(fix.mount_options, label)
        for number, task in enumerate(fix.ansible, start=1):
            named = dict(task)
            own = f": {named['name']}" if "name" in named else f" (task {number})"
            named["name"] = f"{label}{own}"
            tasks.append(named)
        if not fix.has_ansible:
            skipped.append(f"{label}: no Ansible task (the shell script has a fix)")
    play: dict[str, Any] = {
        "name": f"Bulwark remediation for {plan.host}",
        "hosts": "all",
        "become": True,
        "gather_facts": False,
        "tasks": tasks,
    }
    if handlers:
        play["handlers"] = handlers
    notes = [f"{s.heading}: {s.manual or 'none written'}" for s in plan.without_fix]
    header = [
        f"# Bulwark remediation for {plan.host}, generated "
        f"{datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}.",
        "# Dry run: ansible-playbook -i INVENTORY --check --diff THIS.yml",
        *(f"# not here: {line}" for line in skipped + notes),
    ]
    body = yaml.safe_dump([play], sort_keys=False, allow_unicode=True, width=100)
    return "\n".join(header) + "\n---\n" + body
