"""Host output PostgreSQL would refuse becomes visible escapes."""

from __future__ import annotations

from bulwark.audits.storable import storable, storable_json


def test_nul_becomes_a_visible_escape() -> None:
    assert storable("a\x00b") == "a\\x00b"


def test_a_lone_surrogate_becomes_a_visible_escape() -> None:
    undecodable = b"caf\xe9".decode("utf-8", "surrogateescape")
    assert storable(undecodable) == "caf\\udce9"
    storable(undecodable).encode("utf-8")  # now encodable


def test_ordinary_text_is_left_alone() -> None:
    text = "Permissions 0644 ✓ déjà"
    assert storable(text) is text


def test_json_strings_are_cleaned_at_every_depth_keys_included() -> None:
    value = {"rule\x00": [{"line": "x\x00"}, 3, None, ("t\x00",)]}
    assert storable_json(value) == {"rule\\x00": [{"line": "x\\x00"}, 3, None, ["t\\x00"]]}
