"""The catalogue: sync_rulesets and import_policy, all or nothing, with file:line messages."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from bulwark.policies import services
from bulwark.policies.models import Check, Policy
from bulwark.policies.services import PolicyRefused, enabled_definitions, sync_rulesets

GOOD = """\
policy:
  id: {id}
  file: {id}.yml
  name: "A test policy"
  description: "Checks for tests."
checks:
  - id: 1
    title: "The password file exists"
    compliance:
      - cis_csc_v8: ["5.1"]
    condition: all
    rules:
      - 'f:/etc/passwd'
  - id: 2
    title: "No telnet"
    condition: none
    rules:
      - 'f:/usr/bin/telnet'
"""

# Line 13: a rule type that does not exist. Line 16: a check with no rules.
BAD = """\
policy:
  id: broken
  file: broken.yml
  name: "Broken"
  description: "Two errors."
checks:
  - id: 1
    title: "Fine"
    condition: all
    rules:
      - 'f:/etc/passwd'
  - id: 2
    title: "Bad rule"
    condition: all
    rules:
      - 'x:/etc/passwd'
  - id: 3
    title: "No rules"
    condition: all
"""


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


@pytest.mark.django_db
def test_sync_mirrors_the_bundled_rulesets(catalogue: None, settings: object) -> None:
    files = sorted(Path(settings.RULESETS_DIR).rglob("*.yml"))  # type: ignore[attr-defined]
    assert files
    for path in files:
        policy = Policy.objects.get(path=f"rulesets/{path.relative_to(path.parents[1])}")
        assert policy.origin == Policy.Origin.BUNDLED and policy.enabled
        assert policy.checks.count() == policy.check_count > 0
    assert not Check.objects.filter(category="").exists()
    assert {d.id for d in enabled_definitions()} == set(
        Policy.objects.values_list("policy_id", flat=True)
    )


@pytest.mark.django_db
def test_a_sync_keeps_check_rows_and_retires_removed_checks(tmp_path: Path) -> None:
    _write(tmp_path, "t.yml", GOOD.format(id="t"))
    sync_rulesets(tmp_path)
    first = {c.check_id: c.pk for c in Check.objects.all()}
    _write(tmp_path, "t.yml", GOOD.format(id="t").split("  - id: 2")[0])
    report = sync_rulesets(tmp_path)
    assert (report.checks_created, report.checks_retired) == (0, 1)
    assert {c.check_id: c.pk for c in Check.objects.all()} == first  # same rows
    assert list(Check.objects.filter(active=False).values_list("check_id", flat=True)) == ["2"]


@pytest.mark.django_db
def test_unchanged_files_are_parsed_once_and_an_edit_of_the_same_size_is_seen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed: list[int] = []
    real = services.load_files
    monkeypatch.setattr(services, "load_files", lambda paths: parsed.append(1) or real(paths))
    path = _write(tmp_path, "t.yml", GOOD.format(id="t"))
    sync_rulesets(tmp_path)
    Check.objects.all().delete()
    Policy.objects.all().delete()
    sync_rulesets(tmp_path)  # the same bytes: stored again from what was parsed
    assert len(parsed) == 1 and Check.objects.count() == 2
    # Same size, other words, a later modification time: parsed again, the new title stored.
    edited = GOOD.format(id="t").replace("No telnet", "No rlogin")
    assert len(edited) == len(GOOD.format(id="t"))
    stat = path.stat()
    path.write_text(edited)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    sync_rulesets(tmp_path)
    assert len(parsed) == 2
    assert Check.objects.get(check_id="2").title == "No rlogin"


@pytest.mark.django_db
def test_a_bundled_policy_gone_from_the_folder_is_disabled(tmp_path: Path) -> None:
    _write(tmp_path, "a.yml", GOOD.format(id="a"))
    _write(tmp_path, "b.yml", GOOD.format(id="b"))
    sync_rulesets(tmp_path)
    (tmp_path / "b.yml").unlink()
    assert sync_rulesets(tmp_path).disabled == ["b"]
    assert not Policy.objects.get(policy_id="b").enabled


@pytest.mark.django_db
def test_one_bad_file_refuses_the_whole_sync_with_file_and_line(tmp_path: Path) -> None:
    _write(tmp_path, "a.yml", GOOD.format(id="a"))
    bad = _write(tmp_path, "broken.yml", BAD)
    with pytest.raises(PolicyRefused) as caught:
        sync_rulesets(tmp_path)
    problems = caught.value.problems
    assert any(p.startswith(f"{bad}:16:") and "check 2" in p for p in problems), problems
    assert any(p.startswith(f"{bad}:17:") and "check 3" in p for p in problems), problems
    assert not Policy.objects.exists() and not Check.objects.exists()


@pytest.mark.django_db
def test_the_sync_command_prints_the_problems_and_imports_nothing(tmp_path: Path) -> None:
    _write(tmp_path, "a.yml", GOOD.format(id="a"))
    bad = _write(tmp_path, "broken.yml", BAD)
    with pytest.raises(CommandError) as caught:
        call_command("sync_rulesets", path=tmp_path)
    assert "nothing imported" in str(caught.value)
    assert f"{bad}:16:" in str(caught.value)
    assert not Policy.objects.exists()


@pytest.mark.django_db
def test_import_policy_adds_a_user_policy(tmp_path: Path, catalogue: None) -> None:
    path = _write(tmp_path, "mine.yml", GOOD.format(id="mine"))
    out = io.StringIO()
    call_command("import_policy", str(path), stdout=out)
    assert "2 checks added" in out.getvalue()
    policy = Policy.objects.get(policy_id="mine")
    assert policy.origin == Policy.Origin.IMPORTED
    assert policy.checks.get(check_id="1").category == "Account Management"
    assert "mine" in {d.id for d in enabled_definitions()}


@pytest.mark.django_db
def test_import_is_all_or_nothing_across_files(tmp_path: Path) -> None:
    good = _write(tmp_path, "good.yml", GOOD.format(id="good"))
    bad = _write(tmp_path, "broken.yml", BAD)
    with pytest.raises(CommandError) as caught:
        call_command("import_policy", str(good), str(bad))
    assert f"{bad}:16:" in str(caught.value)
    assert not Policy.objects.exists()


@pytest.mark.django_db
def test_import_cannot_take_over_a_bundled_policy_id(tmp_path: Path, catalogue: None) -> None:
    bundled = Policy.objects.filter(origin=Policy.Origin.BUNDLED).first()
    assert bundled is not None
    path = _write(tmp_path, "x.yml", GOOD.format(id=bundled.policy_id))
    with pytest.raises(CommandError, match="is a bundled policy's"):
        call_command("import_policy", str(path))
    bundled.refresh_from_db()
    assert bundled.origin == Policy.Origin.BUNDLED and bundled.path != str(path)


@pytest.mark.django_db
def test_two_files_with_one_policy_id_are_refused(tmp_path: Path) -> None:
    _write(tmp_path, "a.yml", GOOD.format(id="same"))
    _write(tmp_path, "b.yml", GOOD.format(id="same"))
    with pytest.raises(PolicyRefused, match="1 problem"):
        sync_rulesets(tmp_path)
