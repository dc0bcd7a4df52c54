"""OS_Regex, PCRE2 and OS_Match as Wazuh runs them: the shared vectors and
docs/policy-format.md §8."""

from __future__ import annotations

import csv
import json
import string
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.shared_data import shared_data_dir
from workers.engine.osregex import (
    MAX_PATTERN_BYTES,
    RegexError,
    compile_osmatch,
    compile_osregex,
    compile_pcre2,
)

VECTORS = "osregex-vectors"

# ---------------------------------------------------------------------------------------------
# Shared vectors


def _short(text: str, limit: int = 40) -> str:
    shown = json.dumps(text)[1:-1]
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def _params(load: Callable[[Path], list[Any]]) -> list[Any]:
    try:
        folder = shared_data_dir() / VECTORS
    except (pytest.skip.Exception, pytest.fail.Exception):
        # One placeholder case; the test then calls shared_data_dir() to skip or fail with why.
        return [pytest.param(None, id="shared-data-missing")]
    return load(folder)


def _documented_vectors(folder: Path) -> list[Any]:
    """The Wazuh execute vectors that Wazuh's own tests trust (not "known bug, ignore")."""
    params = []
    path = folder / "os_regex_vectors_with_actual_results.jsonl"
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        row = json.loads(line)
        if row["ignore_result_in_wazuh_tests"]:
            continue
        case = (
            row["pattern"],
            row["subject"],
            row["documented_expected_match"],
            row["documented_expected_captures"],
        )
        ident = f"L{lineno}:{_short(row['pattern'])}~{_short(row['subject'])}"
        params.append(pytest.param(case, id=ident))
    return params


def _json_only_vectors(folder: Path) -> list[Any]:
    """Cases of Wazuh's JSON file left out of the jsonl (tab, CR and newline subjects)."""
    jsonl = folder / "os_regex_vectors_with_actual_results.jsonl"
    seen = set()
    for line in jsonl.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        seen.add((row["pattern"], row["subject"]))
    params = []
    suites = json.loads((folder / "wazuh_os_regex_execute_tests.json").read_text("utf-8"))
    for suite in suites:
        for test in suite["batch_test"]:
            key = (test["pattern"], test["log"])
            if key in seen or test.get("skip_test") or test.get("ignore_result"):
                continue
            # end_match is the rest of the subject from the last matched character, or null.
            case = (*key, test["end_match"] is not None, test["captured_groups"])
            ident = f"{_short(test['pattern'])}~{_short(test['log'], 24)}"
            params.append(pytest.param(case, id=ident))
    return params


def _failing_stock_regexes(folder: Path) -> list[Any]:
    path = folder / "stock_4x_regexes_failing_osregex_compile.tsv"
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    errors = {row["regex"]: row["error"].split()[0] for row in rows}
    return [pytest.param((regex, kind), id=_short(regex)) for regex, kind in sorted(errors.items())]


def _check_vector(case: tuple[str, str, bool, list[str]] | None) -> None:
    if case is None:
        shared_data_dir()
    assert case is not None
    pattern, subject, expected_match, expected_captures = case
    match = compile_osregex(pattern).search(subject)
    assert (match is not None) == expected_match
    if match is not None:
        # The files write "no captures" as [], and a no-match sometimes as [""]: only a match
        # has captures to compare.
        assert list(match.groups) == expected_captures


@pytest.mark.parametrize("case", _params(_documented_vectors))
def test_it_agrees_with_every_trusted_wazuh_vector(
    case: tuple[str, str, bool, list[str]] | None,
) -> None:
    _check_vector(case)


@pytest.mark.parametrize("case", _params(_json_only_vectors))
def test_it_agrees_with_the_vectors_only_in_wazuhs_json(
    case: tuple[str, str, bool, list[str]] | None,
) -> None:
    _check_vector(case)


def test_the_vector_files_hold_what_the_spec_counts() -> None:
    folder = shared_data_dir() / VECTORS
    assert len(_documented_vectors(folder)) == 281
    assert len(_failing_stock_regexes(folder)) == 17
    assert _json_only_vectors(folder)  # the character-map cases with tab and CR subjects


@pytest.mark.parametrize("case", _params(_failing_stock_regexes))
def test_it_refuses_every_stock_regex_wazuh_refuses(case: tuple[str, str] | None) -> None:
    if case is None:
        shared_data_dir()
    assert case is not None
    regex, kind = case
    with pytest.raises(RegexError) as refused:
        compile_osregex(regex)
    if kind == "BADREGEX":
        assert "unknown escape" in str(refused.value)
    else:
        assert any(w in str(refused.value) for w in ("nested", "unbalanced", "inside a group"))


# ---------------------------------------------------------------------------------------------
# OS_Regex: character classes (§8.2)

BYTES = [chr(b) for b in range(256)]
DIGITS = set(string.digits)
WORD = set(string.ascii_letters + string.digits + "-@_")
# The 25 characters of \p, as the spec lists them (in byte order).
PUNCT = set("!\"#$%&'()*+,-.:;<=>?[]{|}")


def _members(escape: str) -> set[str]:
    regex = compile_osregex(f"^\\{escape}$")
    return {c for c in BYTES if regex.search(c)}


@pytest.mark.parametrize(
    ("escape", "expected"),
    [
        ("d", DIGITS),
        ("D", set(BYTES) - DIGITS),
        ("w", WORD),
        ("W", set(BYTES) - WORD),
        ("s", {" "}),
        ("S", set(BYTES) - {" "}),
        ("t", {"\t"}),
        ("p", PUNCT),
        (".", set(BYTES)),
    ],
)
def test_each_escape_class_has_exactly_its_members_among_all_256_bytes(
    escape: str, expected: set[str]
) -> None:
    assert _members(escape) == expected


def test_the_punctuation_class_has_25_members_and_not_the_usual_suspects() -> None:
    assert len(PUNCT) == 25
    assert not {"/", "@", "^", "_", "`", "~", "\\"} & _members("p")


def test_w_includes_dash_at_and_underscore() -> None:
    match = compile_osregex(r"(\w+)").search("  root@host-1_a ")
    assert match is not None and match.groups == ("root@host-1_a",)


def test_s_is_only_the_space_so_tabs_need_t() -> None:
    assert compile_osregex(r"a\sb").search("a\tb") is None
    assert compile_osregex(r"a\s*\t*b").search("a  \t\tb") is not None
    assert compile_osregex(r"a\Sb").search("a\tb") is not None


def test_dot_escape_matches_any_character_even_a_newline() -> None:
    assert compile_osregex(r"a\.b").search("a\nb") is not None
    assert compile_osregex(r"^\.*$").search("") is not None


def test_characters_above_ascii_are_not_word_digit_or_space() -> None:
    match = compile_osregex(r"(\w+)").search("café")
    assert match is not None and match.groups == ("caf",)
    assert compile_osregex(r"^\W\D\S$").search("ééé") is not None


# ---------------------------------------------------------------------------------------------
# OS_Regex: literals, quantifiers, anchors, groups, alternatives (§8.2, §8.4)


@pytest.mark.parametrize(
    ("pattern", "subject", "matches"),
    [
        ("pam_unix.so", "pam_unixXso", False),
        ("pam_unix.so", "auth required pam_unix.so", True),
        ("[0-9]", "5", False),
        ("[0-9]", "x[0-9]", True),
        ("a+", "aa", False),
        ("a+", "a+", True),
        ("a*", "b", False),
        ("a?", "a?", True),
        ("a{2}", "aa", False),
        ("a{2}", "a{2}", True),
        ("(a)+", "a+", True),  # no quantifier after a group: + is literal
        ("(a)+", "aa", False),
        ("x$y", "ax$y", True),
        ("a^b", "a^b", True),
        ("PermitRootLogin", "permitrootlogin no", True),
        ("é", "É", False),  # only ASCII letters fold
        ("k", "\u212a", False),  # the Kelvin sign is not a k
    ],
)
def test_every_unescaped_character_is_a_literal_matched_without_ascii_case(
    pattern: str, subject: str, matches: bool
) -> None:
    assert (compile_osregex(pattern).search(subject) is not None) is matches


@pytest.mark.parametrize(
    ("pattern", "subject"),
    [(r"\(", "("), (r"\)", ")"), ("\\\\", "\\"), (r"\$", "$"), (r"\|", "|"), (r"\<", "<")],
)
def test_literal_escapes_match_their_character(pattern: str, subject: str) -> None:
    match = compile_osregex(f"^{pattern}$").search(subject)
    assert match is not None and match.text == subject


def test_an_escaped_dollar_at_the_end_is_not_an_anchor() -> None:
    assert compile_osregex(r"cost\$").search("cost$ 5") is not None
    assert compile_osregex("cost\\\\$").search("cost\\") is not None  # \\ then the anchor
    assert compile_osregex("cost\\\\$").search("cost\\ 5") is None


def test_quantifiers_apply_to_escapes_including_literal_ones() -> None:
    assert compile_osregex(r"^\d+$").search("2024") is not None
    assert compile_osregex(r"^\d+$").search("") is None
    assert compile_osregex(r"^a\d*b$").search("ab") is not None
    match = compile_osregex(r"\$+").search("x$$$y")
    assert match is not None and match.text == "$$$"


def test_anchors_and_end_of_subject() -> None:
    assert compile_osregex("^abc").search(" abc") is None
    assert compile_osregex("abc$").search("abc ") is None
    assert compile_osregex("abc$").search("abc\n") is None  # $ is the end, not before a newline
    assert compile_osregex("^$").search("") is not None
    assert compile_osregex("^$").search(" ") is None
    assert compile_osregex(r"^\s*$").search("   ") is not None


def test_an_empty_match_after_the_last_character_does_not_count() -> None:
    # The engine never tries that position (oracle and vectors: \d*$ vs "123pattern").
    assert compile_osregex(r"\d*$").search("123pattern") is None
    assert compile_osregex(r"\d*$").search("") is not None


def _groups(pattern: str, subject: str) -> tuple[str | None, ...] | None:
    match = compile_osregex(pattern).search(subject)
    return None if match is None else match.groups


def test_a_run_stops_where_the_next_token_matches_and_a_final_run_is_greedy() -> None:
    # OS_Regex leaves a + or * run at the first character the next token accepts.
    assert _groups(r"(\d+)\w", "12345") == ("1",)
    assert _groups(r"(\d*)\w", "12345") == ("",)
    assert _groups(r"(\d+)", "x12345") == ("12345",)
    assert _groups(r"^MaxAuthTries\s+(\d+)\s*$", "maxauthtries   4  ") == ("4",)


def test_overlapping_optional_runs_do_not_backtrack() -> None:
    # Bug B3 of the spec, reproduced on purpose: OS_Regex says no.
    assert compile_osregex(r"\p*\d*\s*\w*:").search(":") is None


def test_groups_capture_in_order_and_text_is_the_matched_substring() -> None:
    match = compile_osregex(r"(\w+)\s*=\s*(\d+)").search("# x max_log_file = 8 ")
    assert match is not None
    assert match.groups == ("max_log_file", "8")
    assert match.text == "max_log_file = 8"
    plain = compile_osregex("pam_").search("auth pam_unix.so")
    assert plain is not None and plain.groups == () and plain.text == "pam_"


def test_empty_and_adjacent_groups_never_match_like_the_engine() -> None:
    assert compile_osregex("()").search("Test") is None
    assert compile_osregex("(hi)(Wazuh)").search("hiWazuh") is None


def test_alternatives_have_their_own_anchors() -> None:
    regex = compile_osregex("^a|b$")
    assert regex.search("ax") is not None
    assert regex.search("xb") is not None
    assert regex.search("xax bx") is None


def test_the_first_alternative_that_matches_decides_even_further_right() -> None:
    match = compile_osregex(r"z(\d)|a(\d)").search("a1 z2")
    assert match is not None and match.groups == ("2",) and match.text == "z2"
    match = compile_osregex(r"^foo(\d)|bar(\w)-(\w)").search("bar9-x")
    assert match is not None and match.groups == ("9", "x")
    match = compile_osregex(r"a(\d)|z(\d)").search("z2 a1")
    assert match is not None and match.groups == ("1",)
    match = compile_osregex(r"a(\d)|z(\d)").search("z2 a")
    assert match is not None and match.groups == ("2",) and match.text == "z2"


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        (r"abc\b", r"unknown escape \b at offset 3"),
        (r"\n", r"unknown escape \n"),
        (r"\/etc", r"unknown escape \/"),
        (r"\^", r"unknown escape \^"),
        ("abc\\", "lone \\ at offset 3"),
        ("(foo|bar)", "| inside a group"),
        ("((a))", "nested ("),
        ("a)", "unbalanced )"),
        ("(a", "unbalanced ("),
    ],
)
def test_it_refuses_what_the_engine_refuses(pattern: str, message: str) -> None:
    with pytest.raises(RegexError) as refused:
        compile_osregex(pattern)
    assert message in str(refused.value)


def test_the_pattern_size_limit_counts_bytes() -> None:
    compile_osregex("a" * MAX_PATTERN_BYTES)
    with pytest.raises(RegexError, match="bytes"):
        compile_osregex("a" * (MAX_PATTERN_BYTES + 1))
    with pytest.raises(RegexError):
        compile_osregex("é" * (MAX_PATTERN_BYTES // 2 + 1))


def test_compiles_are_cached() -> None:
    assert compile_osregex(r"\d+") is compile_osregex(r"\d+")
    assert compile_pcre2("a", caseless=True) is compile_pcre2("a", caseless=True)
    assert compile_osmatch(".conf") is compile_osmatch(".conf")
    assert compile_osregex(r"\d+").pattern == r"\d+"


# ---------------------------------------------------------------------------------------------
# PCRE2 (§8.5)


def test_pcre2_is_case_sensitive_in_w4_and_caseless_in_w5() -> None:
    assert compile_pcre2("PermitRootLogin", caseless=False).search("permitrootlogin no") is None
    assert compile_pcre2("PermitRootLogin", caseless=True).search("permitrootlogin no") is not None
    assert compile_pcre2("é", caseless=True).search("É") is None


def test_pcre2_classes_are_ascii() -> None:
    assert compile_pcre2(r"^\w+$", caseless=False).search("café") is None
    assert compile_pcre2(r"^\d$", caseless=False).search("٣") is None


def test_pcre2_captures_and_non_participating_groups() -> None:
    match = compile_pcre2(r"(\d+)-(\d+)", caseless=False).search("v 10-20")
    assert match is not None and match.groups == ("10", "20") and match.text == "10-20"
    match = compile_pcre2(r"(a)?b", caseless=False).search("b")
    assert match is not None and match.groups == (None,)


@pytest.mark.parametrize(
    ("pattern", "subject", "matches"),
    [
        (r"^a\h+b$", "a \t b", True),
        (r"^\H+$", "ab c", False),
        (r"^a[\h]b$", "a\tb", True),
        (r"^\v$", "\r", True),
        (r"^\V$", "\r", False),
        (r"^\N$", "\n", False),
        (r"abc\z", "abc\n", False),
        (r"abc\Z", "abc\n", True),
        (r"^[[:digit:]]+$", "123", True),
        (r"^[[:digit:]]+$", "[:d", False),
        (r"^[^[:space:]]+$", "a b", False),
        (r"(?<port>\d+)", "port 22", True),
        (r"\Q.*\E", "a.*b", True),
        (r"\Q.*\E", "ab", False),
        (r"^a++b", "aab", True),
        (r"^(?>a+)b", "aab", True),
    ],
)
def test_pcre2_only_syntax_is_translated(pattern: str, subject: str, matches: bool) -> None:
    assert (compile_pcre2(pattern, caseless=False).search(subject) is not None) is matches


def test_pcre2_multiline_only_in_w5() -> None:
    assert compile_pcre2("^b$", caseless=True).search("a\nb\nc") is not None
    assert compile_pcre2("^b$", caseless=False).search("a\nb\nc") is None


@pytest.mark.parametrize(
    "pattern", ["(", r"expire-after\p\w*", r"%SystemDrive%\inetpub", "[[:nope:]]"]
)
def test_pcre2_refusals_raise_regex_error(pattern: str) -> None:
    with pytest.raises(RegexError):
        compile_pcre2(pattern, caseless=True)


# ---------------------------------------------------------------------------------------------
# OS_Match (§8.6)


@pytest.mark.parametrize(
    ("pattern", "subject", "matches"),
    [
        (".conf", "sshd.conf", True),
        (".conf", "sshdXconf", False),
        ("^.mysql_history$", ".MYSQL_history", True),
        ("^.mysql_history$", "x.mysql_history", False),
        ("^.mysql_history$", ".mysql_history.bak", False),
        ("^rc", "rc.local", True),
        ("^rc", "xrc", False),
        (".sh$", "init.SH", True),
        (".sh$", "init.sh.bak", False),
        ("^.bashrc|.conf$", "a.conf", True),
        ("^.bashrc|.conf$", "a.bashrc", False),
        ("!.conf", "sshd", True),
        ("!.conf", "sshd.conf", False),
        ("!^a|^b", "cat", True),
        ("!^a|^b", "bat", False),
        (r"a\.b", "a.b", False),  # no escapes: the backslash is literal
        (r"a\.b", r"xa\.b", True),
        ("[a-z]", "[a-z]", True),
        ("a|", "zzz", True),  # an empty alternative matches anything
        ("é", "É", False),
    ],
)
def test_osmatch(pattern: str, subject: str, matches: bool) -> None:
    assert compile_osmatch(pattern).matches(subject) is matches


def test_osmatch_size_limit() -> None:
    with pytest.raises(RegexError):
        compile_osmatch("a" * (MAX_PATTERN_BYTES + 1))
