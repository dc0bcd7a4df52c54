"""Redaction of secrets from messages."""

from __future__ import annotations

from bulwark.core.redaction import redact


def test_it_masks_every_secret_and_each_line_of_a_key() -> None:
    key = (
        "-----BEGIN OPENSSH PRIVATE KEY-----\n"
        "b3BlbnNzaC1rZXktdjEAAAAA\n"
        "-----END OPENSSH PRIVATE KEY-----"
    )
    text = "login with hunter2-pass failed; key line b3BlbnNzaC1rZXktdjEAAAAA rejected"
    cleaned = redact(text, ["hunter2-pass", None, "", key])
    assert "hunter2-pass" not in cleaned
    assert "b3BlbnNzaC1rZXktdjEAAAAA" not in cleaned
    assert cleaned.count("***") == 2
