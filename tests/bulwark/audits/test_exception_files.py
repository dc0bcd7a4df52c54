"""Exceptions as code: export, then import into an empty catalogue gives the same
exceptions; a bad file is refused whole with file:line for each problem."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from bulwark.audits.risks import ExceptionEvent, RiskException
from bulwark.inventory.models import Group, Host

pytestmark = pytest.mark.django_db

LATER = (timezone.localdate() + dt.timedelta(days=60)).isoformat()


def _file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "exceptions.yml"
    path.write_text(body)
    return path


GOOD = f"""\
exceptions:
  - policy_id: bulwark_debian12
    check_id: bwk-deb12-0001
    host: web-1
    justification: "needed by the firmware updater"
    owner: ops-team
    reference: SEC-123
    expires_at: {LATER}
  - policy_id: bulwark_openssh_cis
    check_id: bwk-sshd-0001
    group: servers
    justification: "jump hosts"
    owner: net-team
    expires_at: {LATER}
"""


def _checks_exist() -> None:
    from bulwark.policies.models import Check

    assert Check.objects.filter(
        policy__policy_id="bulwark_debian12", check_id="bwk-deb12-0001"
    ).exists()
    assert Check.objects.filter(
        policy__policy_id="bulwark_openssh_cis", check_id="bwk-sshd-0001"
    ).exists()


def test_import_then_export_round_trips_and_reimport_creates_nothing(
    catalogue: None, group: Group, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _checks_exist()
    Host.objects.create(name="web-1", address="10.77.0.2", group=group)
    call_command("exceptions", "import", str(_file(tmp_path, GOOD)))
    assert "2 exception(s) created" in capsys.readouterr().out
    assert RiskException.objects.filter(status="active").count() == 2
    assert set(ExceptionEvent.objects.values_list("action", flat=True)) == {"created"}
    out = tmp_path / "out.yml"
    call_command("exceptions", "export", str(out))
    exported = out.read_text()
    assert "host: web-1" in exported and "group: servers" in exported and LATER in exported
    call_command("exceptions", "import", str(out))
    assert "0 exception(s) created, 2 already in effect" in capsys.readouterr().out
    assert RiskException.objects.count() == 2


def test_a_bad_file_is_refused_whole_with_file_and_line(
    catalogue: None, group: Group, tmp_path: Path
) -> None:
    bad = (
        GOOD.replace("host: web-1", "host: no-such-host").replace(
            "check_id: bwk-sshd-0001", "check_id: bwk-sshd-9999"
        )
        + "  - policy_id: bulwark_debian12\n    check_id: bwk-deb12-0002\n"
        + "    owner: x\n    expires_at: soon\n"
    )
    path = _file(tmp_path, bad)
    with pytest.raises(CommandError) as refused:
        call_command("exceptions", "import", str(path))
    text = str(refused.value)
    assert f"{path}:2: no host named 'no-such-host'" in text
    assert f"{path}:9: check_id: no check 'bwk-sshd-9999'" in text
    assert f"{path}:15: missing justification" in text
    assert not RiskException.objects.exists()


def test_broken_yaml_names_its_line(catalogue: None, tmp_path: Path) -> None:
    path = _file(tmp_path, "exceptions:\n  - policy_id: [unclosed\n")
    with pytest.raises(CommandError) as refused:
        call_command("exceptions", "import", str(path))
    assert f"{path}:3: not valid YAML" in str(refused.value) or f"{path}:2" in str(refused.value)


def test_a_host_name_two_groups_use_is_refused_not_guessed(
    catalogue: None, group: Group, tmp_path: Path
) -> None:
    # Host names are unique per group only: the import must not pick one of the two.
    Host.objects.create(name="web-1", address="10.77.0.2", group=group)
    other = Group.objects.create(name="lab")
    Host.objects.create(name="web-1", address="10.77.0.3", group=other)
    path = _file(tmp_path, GOOD)
    with pytest.raises(CommandError) as refused:
        call_command("exceptions", "import", str(path))
    assert (
        f"{path}:2: several of your groups have a host 'web-1': say which with host_group"
        in str(refused.value)
    )
    assert not RiskException.objects.exists()


def test_host_group_says_which_of_two_hosts_and_the_export_always_writes_it(
    catalogue: None, group: Group, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    Host.objects.create(name="web-1", address="10.77.0.2", group=group)
    other = Group.objects.create(name="lab")
    lab_host = Host.objects.create(name="web-1", address="10.77.0.3", group=other)
    chosen = GOOD.replace("host: web-1", "host: web-1\n    host_group: lab")
    call_command("exceptions", "import", str(_file(tmp_path, chosen)))
    assert RiskException.objects.get(check_id="bwk-deb12-0001").host_id == lab_host.pk
    out = tmp_path / "out.yml"
    call_command("exceptions", "export", str(out))
    assert "host: web-1\n  host_group: lab\n" in out.read_text()
    # The export imports back unambiguously: to the same host, so nothing new.
    capsys.readouterr()
    call_command("exceptions", "import", str(out))
    assert "0 exception(s) created, 2 already in effect" in capsys.readouterr().out
    wrong = GOOD.replace("host: web-1", "host: web-1\n    host_group: nowhere")
    with pytest.raises(CommandError) as refused:
        call_command("exceptions", "import", str(_file(tmp_path, wrong)))
    assert "no host named 'web-1' in group 'nowhere'" in str(refused.value)
