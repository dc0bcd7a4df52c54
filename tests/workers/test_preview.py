"""Preview on kept facts: the same verdicts as a real audit wherever the facts were collected,
"needs collection" elsewhere; the kept facts survive JSON and never hold a password hash."""

from __future__ import annotations

import json
from pathlib import Path

from workers.audit import run
from workers.engine.facts import FileFact, FileRequest, PathState
from workers.engine.facts_codec import dump, load, redact_account_file
from workers.engine.policy import load_policy_text
from workers.preview import PreviewStatus, preview
from workers.transports.local import LocalTransport

HEAD = "policy: {id: pv, file: pv.yml, name: pv, description: d}\n"
REQUIREMENTS = (
    "requirements:\n  title: linux\n  description: d\n  condition: all\n"
    "  rules: ['f:/proc/sys/kernel/ostype -> r:^Linux$']\n"
)


def _policy(checks: list[tuple[str, str, str]]):
    body = "".join(
        f"  - id: {i}\n    title: t{i}\n    condition: {cond}\n    rules: ['{rule}']\n"
        for i, rule, cond in checks
    )
    result = load_policy_text(HEAD + REQUIREMENTS + "checks:\n" + body, "pv.yml")
    assert result.policy is not None, result.errors
    return result.policy


def test_preview_matches_an_audit_where_facts_were_collected(tmp_path: Path) -> None:
    (tmp_path / "conf").write_text("PermitRootLogin no\nX11Forwarding yes\n")
    conf = tmp_path / "conf"
    original = _policy(
        [
            ("1", f"f:{conf} -> r:^PermitRootLogin no", "all"),
            ("2", f"f:{conf} -> r:^X11Forwarding no", "all"),
            ("3", "f:/etc/passwd", "all"),
        ]
    )
    outcome = run(LocalTransport(), [original])
    assert outcome.facts is not None
    kept = load(json.loads(json.dumps(dump(outcome.facts))))
    # The changed policy: 1 and 2 read the same facts differently, 4 needs a new one.
    changed = _policy(
        [
            ("1", f"f:{conf} -> r:^PermitRootLogin yes", "all"),
            ("2", f"f:{conf} -> r:^X11Forwarding", "all"),
            ("3", "f:/etc/passwd", "none"),
            ("4", f"f:{tmp_path}/never-collected", "all"),
        ]
    )
    previewed = {v.check_id: v.status for v in preview([changed], kept)}
    real = {r.check.id: r.status.value for r in run(LocalTransport(), [changed]).results}
    for check_id in ("1", "2", "3"):
        assert previewed[check_id].value == real[check_id], check_id
    assert previewed["4"] is PreviewStatus.NEEDS_COLLECTION
    assert {previewed["1"], previewed["2"]} == {PreviewStatus.FAILED, PreviewStatus.PASSED}


def test_kept_account_files_hold_no_hash() -> None:
    shadow = (
        b"root:$y$j9T$abcdefghijk$0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef:19000:0:99999:7:::\n"
        b"daemon:*:19000:0:99999:7:::\nlocked:!$6$salt$hashhashhash:19000::::::\nempty::1::::::\n"
    )
    redacted = redact_account_file(shadow)
    assert b"abcdefghijk" not in redacted and b"hashhash" not in redacted
    lines = redacted.decode().splitlines()
    assert lines[0].startswith("root:$y$REDACTED:19000:")
    assert lines[1] == "daemon:*:19000:0:99999:7:::"
    assert lines[2].startswith("locked:!$6$REDACTED:")
    assert lines[3] == "empty::1::::::"

    from workers.engine.facts import Facts

    facts = Facts()
    facts.by_request[FileRequest("/etc/shadow", content=True)] = FileFact(PathState.REGULAR, shadow)
    assert b"abcdefghijk" not in json.dumps(dump(facts)).encode()
    stored = load(dump(facts)).get(FileRequest("/etc/shadow", content=True))
    assert isinstance(stored, FileFact) and stored.content == redacted
