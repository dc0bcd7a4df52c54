"""Finding: the Ubuntu 24.04 password-age rule stored root's /etc/shadow line, hash included,
as evidence for every viewer. Evidence now keeps what decided the verdict and masks the hash."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.workers.engine.conftest import FactsBuilder
from workers.engine.evaluate import CheckStatus, evaluate_check
from workers.engine.policy import load_policy
from workers.engine.redaction import redact_evidence

ROOT = Path(__file__).resolve().parents[3]
HASH = "$6$Qk2lT0s9$wJ3Zr1pY0m8xHf6cE4qV7nB5tA2sD9gK1lL0oP3iU8yT6rE4wQ2zX5cV7bN9mM1aS3dF5gH7jK9lL0"
SHADOW = f"daemon:*:19700:0:99999:7:::\nroot:{HASH}:19700:0:99999:7:::\nops:!:19700:1:90:7:::\n"


def test_the_ubuntu_2404_root_rule_keeps_the_verdict_and_masks_the_hash() -> None:
    policy = load_policy(ROOT / "rulesets/linux/bulwark_ubuntu2404.yml").policy
    assert policy is not None
    check = next(c for c in policy.checks if c.id == "bwk-u2404-0172")
    assert check.rules[0].raw.startswith("f:/etc/shadow -> r:^root:")
    facts = FactsBuilder().file("/etc/shadow", SHADOW)
    evaluation = evaluate_check(policy, check, facts.facts)
    assert evaluation.status is CheckStatus.PASSED  # root has a password hash
    (evidence,) = evaluation.evidence
    assert (evidence.location, evidence.result) == ("/etc/shadow", "found")
    assert evidence.line == "root:$6$***:19700:0:99999:7:::"  # what decided: "$", a hash
    stored = repr([e.as_dict() for e in evaluation.evidence])
    assert "wJ3Zr1pY0m8x" not in stored and "Qk2lT0s9" not in stored


def test_a_locked_root_keeps_its_lock_marker_as_evidence() -> None:
    policy = load_policy(ROOT / "rulesets/linux/bulwark_ubuntu2404.yml").policy
    assert policy is not None
    check = next(c for c in policy.checks if c.id == "bwk-u2404-0172")
    facts = FactsBuilder().file("/etc/shadow", "root:!:19700:0:99999:7:::\n")
    (evidence,) = evaluate_check(policy, check, facts.facts).evidence
    assert evidence.line == "root:!:19700:0:99999:7:::"


@pytest.mark.parametrize(
    ("location", "line", "expected"),
    [
        ("/etc/gshadow", "sudo:$y$j9T$abc$def:root:ops", "sudo:$y$***:root:ops"),
        ("/etc/shadow", "svc:!$6$salt$hash:1:0:90:7:::", "svc:!$6$***:1:0:90:7:::"),
        ("/etc/shadow", "nobody:*:19700:0:99999:7:::", "nobody:*:19700:0:99999:7:::"),
        ("/etc/security/opasswd", "ops:1000:2:$6$a$b,$6$c$d", "ops:1000:2:$6$***"),
        (
            "getent shadow root",
            "root:$6$salt$hash:19700:0:99999:7:::",
            "root:$6$***:19700:0:99999:7:::",
        ),
        ("/etc/app.conf", "password_hash = $2b$12$abcdefghij", "password_hash = $2b$***"),
        ("/root/.ssh/id_ed25519", "b3BlbnNzaC1rZXktdjEAAAAA", "[private key material redacted]"),
        ("cat /etc/ssl/x.pem", "-----BEGIN PRIVATE KEY-----", "[private key material redacted]"),
        ("/etc/ssh/sshd_config", "PermitRootLogin no", "PermitRootLogin no"),
    ],
)
def test_evidence_lines_are_masked_by_where_they_come_from(
    location: str, line: str, expected: str
) -> None:
    assert redact_evidence(location, line) == expected
