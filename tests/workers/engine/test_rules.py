"""Rule strings: the grammar of docs/policy-format.md §2-§3, the W4 argv tokenizer (§4.4),
variables (§7) and the lint of §10, in both dialects wherever they differ."""

from __future__ import annotations

import pytest

from workers.engine.definitions import (
    Dialect,
    Minterm,
    MintermKind,
    RegexEngine,
    RuleDefinition,
    RuleType,
)
from workers.engine.rules import (
    RuleSyntaxError,
    lint_rule,
    parse_pattern,
    parse_rule,
    substitute_variables,
    tokenize_command,
)

W4, W5 = Dialect.W4, Dialect.W5
REGEX, NUMERIC, LITERAL = MintermKind.REGEX, MintermKind.NUMERIC, MintermKind.LITERAL


def rule(text: str, dialect: Dialect = W4, **variables: str) -> RuleDefinition:
    return parse_rule(text, dialect=dialect, variables={f"${k}": v for k, v in variables.items()})


def codes(text: str, dialect: Dialect = W4, engine: RegexEngine = RegexEngine.OSREGEX) -> list[str]:
    return [w.code for w in lint_rule(rule(text, dialect), dialect, engine)]


# -- tokenize_command -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "argv"),
    [
        # The examples of §4.4, run through the real tokenizer by the spec's authors.
        ("sh -c 'echo a b'", ("sh", "-c", "'echo", "a", "b'")),
        ("grep X f | head -1", ("grep", "X", "f", "|", "head", "-1")),
        ("\"grep '^\\s*x'\"", ("grep '^s*x'",)),
        # Double quotes group and vanish; backslashes escape inside them too.
        ('sh -c "echo a b"', ("sh", "-c", "echo a b")),
        ('sh -c "grep \\"x y\\" f"', ("sh", "-c", 'grep "x y" f')),
        ("grep '^\\\\s*x' f", ("grep", "'^\\s*x'", "f")),
        ("a\\ b c", ("a b", "c")),
        ('pre"fix"post x', ("prefixpost", "x")),
    ],
)
def test_it_splits_commands_like_w_strtok(command: str, argv: tuple[str, ...]) -> None:
    assert tokenize_command(command) == argv


def test_a_run_of_spaces_is_one_separator_and_edges_produce_nothing() -> None:
    assert tokenize_command("  ls   -l  /etc  ") == ("ls", "-l", "/etc")
    assert tokenize_command("") == ()
    assert tokenize_command("   ") == ()


def test_an_empty_quoted_argument_is_kept_but_glued_quotes_add_nothing() -> None:
    assert tokenize_command('printf "" x') == ("printf", "", "x")
    assert tokenize_command('a""b') == ("ab",)
    assert tokenize_command('x ""') == ("x", "")


def test_only_the_space_character_separates() -> None:
    assert tokenize_command("a\tb c") == ("a\tb", "c")


def test_a_final_backslash_is_dropped_and_an_open_quote_runs_to_the_end() -> None:
    assert tokenize_command("echo a\\") == ("echo", "a")
    assert tokenize_command('echo "a b') == ("echo", "a b")
    assert tokenize_command('"  "') == ("  ",)


# -- rule grammar ---------------------------------------------------------------------------------


def test_it_splits_a_file_rule_at_the_first_arrow() -> None:
    r = rule("f:/etc/ssh/sshd_config -> !r:^# && r:PermitRootLogin\\s+no")
    assert (r.type, r.negated, r.locations) == (RuleType.FILE, False, ("/etc/ssh/sshd_config",))
    assert r.pattern is not None
    assert r.pattern.minterms == (
        Minterm(REGEX, True, "^#"),
        Minterm(REGEX, False, "PermitRootLogin\\s+no"),
    )


def test_an_arrow_without_its_spaces_does_not_split() -> None:
    r = rule("c:auditctl -l-> r:^-a")
    assert r.pattern is None
    assert r.locations == ("auditctl -l-> r:^-a",)
    assert r.argv == ("auditctl", "-l->", "r:^-a")


def test_a_command_pattern_is_everything_after_the_first_arrow() -> None:
    r = rule("c:auditctl -l -> r:\\.+.rules$ -> r:^-w")
    assert r.argv == ("auditctl", "-l")
    assert r.pattern is not None and r.pattern.raw == "r:\\.+.rules$ -> r:^-w"
    assert r.pattern.minterms == (Minterm(REGEX, False, "\\.+.rules$ -> r:^-w"),)


@pytest.mark.parametrize("dialect", [W4, W5])
def test_a_directory_rule_has_a_file_name_then_a_pattern(dialect: Dialect) -> None:
    r = rule("d:/etc/audit/rules.d -> r:\\.rules$ -> r:-w /etc/sudoers", dialect)
    assert (r.type, r.locations, r.filename) == (
        RuleType.DIRECTORY,
        ("/etc/audit/rules.d",),
        "r:\\.rules$",
    )
    assert r.pattern is not None and r.pattern.raw == "r:-w /etc/sudoers"
    assert rule("d:/etc -> conf", dialect).filename == "conf"
    assert rule("d:/etc", dialect).filename is None


@pytest.mark.parametrize("dialect", [W4, W5])
def test_a_registry_rule_has_key_value_name_and_pattern(dialect: Dialect) -> None:
    r = rule(
        "r:HKLM\\SYSTEM\\CurrentControlSet\\Control\\Lsa -> LimitBlankPasswordUse -> 1", dialect
    )
    assert r.type is RuleType.REGISTRY
    assert r.locations == ("HKLM\\SYSTEM\\CurrentControlSet\\Control\\Lsa",)
    assert r.filename == "LimitBlankPasswordUse"
    assert r.pattern is not None and r.pattern.minterms == (Minterm(LITERAL, False, "1"),)
    key_only = rule("r:HKLM\\SOFTWARE\\X", dialect)
    assert (key_only.filename, key_only.pattern) == (None, None)


def test_w4_matches_a_process_rule_as_a_pattern_and_w5_as_an_exact_name() -> None:
    w4 = rule("p:r:^sshd && !r:x")
    assert w4.locations == ("r:^sshd && !r:x",)
    assert w4.pattern is not None
    assert [m.kind for m in w4.pattern.minterms] == [REGEX, REGEX]
    w5 = rule("p:sshd", W5)
    assert (w5.locations, w5.pattern) == (("sshd",), None)


def test_w4_splits_file_and_directory_lists_on_commas_and_w5_does_not() -> None:
    assert rule("f:/a,/b,,/c").locations == ("/a", "/b", "/c")
    assert rule("d:/etc/x,/etc/y -> conf").locations == ("/etc/x", "/etc/y")
    assert rule("f:/a,/b", W5).locations == ("/a,/b",)
    assert rule("c:echo a,b").locations == ("echo a,b",)


def test_w4_negates_with_not_in_either_case_only_at_the_start() -> None:
    assert rule("not f:/etc/hosts.equiv").negated
    assert rule("NOT f:/etc/hosts.equiv").negated
    with pytest.raises(RuleSyntaxError) as raised:
        rule(" not f:/x")  # W4 does not trim
    assert raised.value.code == "rule-type"
    with pytest.raises(RuleSyntaxError):
        rule("Not f:/x")


def test_w5_negates_with_lowercase_not_after_trimming() -> None:
    r = rule("  not   f:/etc/hosts.equiv  ", W5)
    assert r.negated and r.locations == ("/etc/hosts.equiv",)
    with pytest.raises(RuleSyntaxError):
        rule("NOT f:/x", W5)


def test_w5_cuts_the_location_at_the_first_arrow_and_trims_it() -> None:
    r = rule("f:/etc/x  -> r:y", W5)
    assert r.locations == ("/etc/x",)
    assert rule("f:/etc/x  -> r:y").locations == ("/etc/x ",)  # W4 keeps the space
    odd = rule("c:echo a->b -> r:y", W5)
    assert odd.locations == ("echo a",)  # W5 cuts at "->", even without spaces
    assert rule("c:echo a->b -> r:y").locations == ("echo a->b",)


def test_a_bang_before_the_type_is_refused_in_w4_checks_only() -> None:
    with pytest.raises(RuleSyntaxError) as raised:
        rule("!f:/etc/passwd")
    assert raised.value.code == "negated-type"
    tolerated = parse_rule("!f:/etc/passwd", dialect=W4, variables={}, requirement=True)
    assert (tolerated.type, tolerated.negated) == (RuleType.FILE, False)
    assert rule("!f:/etc/passwd", W5).type is RuleType.FILE


@pytest.mark.parametrize("dialect", [W4, W5])
@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("x:/etc/passwd", "rule-type"),
        ("F:/etc/passwd", "rule-type"),
        ("file:/etc/passwd", "rule-type"),
        ("/etc/passwd", "rule-type"),
        ("f:", "empty-location"),
        ("f: -> r:x", "empty-location"),
        ("c:", "empty-location"),
        ("c:   -> r:x", "empty-location"),
        ("r: -> Name", "empty-location"),
        ("", "empty-rule"),
        ("not f: -> x", "empty-location"),
    ],
)
def test_it_refuses_rules_no_engine_can_run(text: str, code: str, dialect: Dialect) -> None:
    with pytest.raises(RuleSyntaxError) as raised:
        rule(text, dialect)
    assert raised.value.code == code


def test_w4_refuses_a_location_of_commas_only_and_a_bare_not() -> None:
    with pytest.raises(RuleSyntaxError):
        rule("f:,,")
    with pytest.raises(RuleSyntaxError) as raised:
        rule("not ")
    assert raised.value.code == "empty-rule"


def test_registry_rules_are_accepted_on_every_platform() -> None:
    assert rule("r:HKLM\\SOFTWARE\\X -> Y").type is RuleType.REGISTRY
    assert rule("not r:HKLM\\SOFTWARE\\X", W5).negated


def test_a_command_rule_carries_its_argv_in_both_dialects() -> None:
    for dialect in (W4, W5):
        r = rule('c:sh -c "ls -l /etc | grep x" -> r:y', dialect)
        assert r.argv == ("sh", "-c", "ls -l /etc | grep x")


# -- variables ------------------------------------------------------------------------------------


def test_variables_are_replaced_longest_name_first() -> None:
    variables = {"$sshd": "WRONG", "$sshd_file": "/etc/ssh/sshd_config"}
    assert substitute_variables("$sshd_file", variables) == "/etc/ssh/sshd_config"
    assert substitute_variables("$sshd $sshd", variables) == "WRONG WRONG"


def test_w4_substitutes_in_the_location_of_file_command_and_directory_rules_only() -> None:
    v = {"f": "/etc/a,/etc/b", "p": "X"}
    assert rule("f:$f -> r:$p", W4, **v).locations == ("/etc/a", "/etc/b")
    assert rule("f:$f -> r:$p", W4, **v).pattern == parse_pattern("r:$p", W4)
    assert rule("d:$f -> $p", W4, **v).filename == "$p"
    assert rule("c:cat $f -> $p", W4, **v).argv == ("cat", "/etc/a,/etc/b")
    assert rule("p:$p", W4, **v).locations == ("$p",)
    assert rule("r:HKLM\\$p -> $p", W4, **v).locations == ("HKLM\\$p",)


def test_w5_substitutes_in_the_whole_rule() -> None:
    r = rule("f:$f -> r:$p", W5, f="/etc/a", p="X")
    assert r.locations == ("/etc/a",)
    assert r.pattern == parse_pattern("r:X", W5)
    assert rule("p:$p", W5, p="sshd").locations == ("sshd",)


# -- patterns -------------------------------------------------------------------------------------


def test_minterms_are_split_on_exactly_space_and_space() -> None:
    for dialect in (W4, W5):
        p = parse_pattern("r:a&&b && r:c &&r:d", dialect)
        assert [m.text for m in p.minterms] == ["a&&b", "c &&r:d"]


def test_w4_skips_empty_minterms_and_w5_keeps_inner_ones() -> None:
    assert [m.text for m in parse_pattern("r:a &&  && r:b", W4).minterms] == ["a", "b"]
    assert [m.text for m in parse_pattern(" && r:a && ", W4).minterms] == ["a"]
    assert [m.text for m in parse_pattern("r:a && ", W5).minterms] == ["a"]
    assert parse_pattern("r:a &&  && r:b", W5).minterms == (
        Minterm(REGEX, False, "a"),
        Minterm(LITERAL, False, ""),
        Minterm(REGEX, False, "b"),
    )


def test_w4_reads_prefixes_in_either_case_and_w5_in_lowercase_only() -> None:
    assert parse_pattern("R:^x && N:(\\d+) compare > 1", W4).minterms == (
        Minterm(REGEX, False, "^x"),
        Minterm(NUMERIC, False, "(\\d+)", "> 1"),
    )
    assert parse_pattern("r:^x && R:^y", W5).minterms == (
        Minterm(REGEX, False, "^x"),
        Minterm(LITERAL, False, "R:^y"),
    )


def test_a_leading_bang_negates_one_minterm() -> None:
    assert parse_pattern("!r:^#", W4).minterms == (Minterm(REGEX, True, "^#"),)
    assert parse_pattern("!!r:x", W4).minterms == (Minterm(LITERAL, True, "!r:x"),)
    assert parse_pattern("!disabled", W4).minterms == (Minterm(LITERAL, True, "disabled"),)


def test_w5_reads_a_pattern_without_a_minterm_prefix_as_one_literal() -> None:
    assert parse_pattern("enabled && r:x", W5).minterms == (
        Minterm(LITERAL, False, "enabled && r:x"),
    )
    assert parse_pattern("!enabled", W5).minterms == (Minterm(LITERAL, False, "!enabled"),)
    assert parse_pattern("enabled && r:x", W4).minterms == (
        Minterm(LITERAL, False, "enabled"),
        Minterm(REGEX, False, "x"),
    )


def test_w4_splits_a_numeric_minterm_at_the_first_spaced_compare() -> None:
    (m,) = parse_pattern("n:^maxauthtries\\s+(\\d+) compare <= 4", W4).minterms
    assert (m.kind, m.text, m.compare_text) == (NUMERIC, "^maxauthtries\\s+(\\d+)", "<= 4")
    (missing,) = parse_pattern("n:^ClientAliveInterval\\s*(\\d+) > 900", W4).minterms
    assert missing.compare_text is None
    (glued,) = parse_pattern("n:x(\\d+)compare <= 4", W4).minterms
    assert glued.compare_text is None  # W4 needs the spaces
    (twice,) = parse_pattern("n:x(\\d+) compare compare > 0", W4).minterms
    assert twice.compare_text == "compare > 0"


def test_w5_splits_a_numeric_minterm_at_the_first_compare_anywhere() -> None:
    (m,) = parse_pattern("n:^maxauthtries\\s+(\\d+) compare <= 4", W5).minterms
    assert (m.text, m.compare_text) == ("^maxauthtries\\s+(\\d+)", "<= 4")
    (glued,) = parse_pattern("n:x(\\d+)compare <= 4", W5).minterms
    assert (glued.text, glued.compare_text) == ("x(\\d+", "<= 4")  # one character dropped each side
    # `compare` at offset 0: W5's substr(0, -1) keeps the whole text as the regex.
    (inside,) = parse_pattern("n:comparex (\\d+) compare > 3", W5).minterms
    assert inside.text == "comparex (\\d+) compare > 3"
    assert inside.compare_text == " (\\d+) compare > 3"
    (missing,) = parse_pattern("n:x(\\d+) > 900", W5).minterms
    assert missing.compare_text is None
    (at_end,) = parse_pattern("n:x(\\d+) compare", W5).minterms
    assert at_end.compare_text is None


# -- lint -----------------------------------------------------------------------------------------


def test_a_command_with_a_stray_arrow_is_flagged_in_both_dialects() -> None:
    assert codes("c:auditctl -l-> r:^-a") == ["missing-space-arrow"]
    assert codes("c:apt list iptables-> r:installed") == ["missing-space-arrow"]
    assert codes("c:ls /etc/rc*.d/S*syslog-ng > r:/etc/rc2.d/S10syslog-ng") == [
        "missing-space-arrow"
    ]
    assert codes("c:auditctl -l-> r:^-a", W5) == ["missing-space-arrow"]
    assert codes("c:coreadm") == []


def test_a_stray_arrow_in_a_path_key_or_name_is_flagged() -> None:
    assert codes("f:/etc/ssh/sshd_config ->!r:^#") == ["malformed-arrow"]
    assert codes("r:HKLM\\X -> legalnoticetext-> r:\\w+") == ["malformed-arrow"]
    assert codes("r:HKLM\\X ->EnableAppInstaller -> 0") == ["malformed-arrow"]
    assert codes("r:HKLM\\X-> DeepHooks", W5) == ["malformed-arrow"]


def test_a_directory_written_with_an_arrow_is_flagged() -> None:
    assert codes("d:->/etc/sysctl.d/ -> r:\\.*.conf -> r:^net.ipv4.tcp_syncookies\\s*=\\s*1$") == [
        "d-arrow"
    ]


def test_an_arrow_inside_a_pattern_is_flagged() -> None:
    assert codes("c:auditctl -l -> r:\\.+.rules$ -> r:^-w") == ["arrow-in-pattern"]


def test_a_numeric_minterm_without_compare_is_flagged() -> None:
    assert codes("f:/etc/security/faillock.conf -> n:root_unlock_time >= 60") == [
        "n-without-compare"
    ]
    assert codes("f:/x -> n:a(\\d+) >= 60", W5) == ["n-without-compare"]


@pytest.mark.parametrize(
    ("compare", "expected"),
    [
        ("<= 4", []),
        ("!= -1", ["negative-compare-value"]),
        ("=> 4", ["op-ge-written-equals"]),
        ("=< 4", ["op-le-written-equals"]),
        ("= 4", ["op-single-equals"]),
        ("= -1", ["op-single-equals", "negative-compare-value"]),
        ("<=4", ["op-no-space"]),
        ("=0", ["op-no-space"]),
        ("\\!= 0", ["op-escaped-not-equals"]),
        ('>= 10"', ["compare-nonstandard"]),
        ("compare > 0", ["compare-nonstandard"]),
    ],
)
def test_w4_numeric_operators_are_checked(compare: str, expected: list[str]) -> None:
    assert codes(f"c:sshd -T -> n:^maxauthtries\\s+(\\d+) compare {compare}") == expected


def test_w5_numeric_operators_are_checked_and_keep_their_sign() -> None:
    assert codes("c:x -> n:^a(\\d+) compare != -1", W5) == []
    assert codes("c:x -> n:^a(\\d+) compare => 1", W5) == ["op-ge-written-equals"]


def test_a_regex_is_checked_with_the_engine_of_its_check() -> None:
    text = "f:/etc/ssh/sshd_config -> r:MaxSessions\\s+(1[1-9]|[2-9][0-9])"
    assert codes(text) == ["regex-compile"]  # `|` inside a group: not OS_Regex
    assert codes(text, engine=RegexEngine.PCRE2) == []
    assert codes(text, W5) == []
    broken = 'f:/x -> r:Access:\\s*("'
    assert codes(broken, W5) == ["regex-compile"]
    assert codes("f:/x -> n:(\\d+ compare > 1", W5) == ["regex-compile"]


def test_a_directory_file_name_regex_is_always_os_regex_in_w4() -> None:
    text = "d:/etc -> r:(a|b)\\.conf -> r:x"
    assert codes(text, engine=RegexEngine.PCRE2) == ["regex-compile"]
    assert codes(text, W5) == []
    assert codes("d:/etc -> !r:(a -> r:x", W5) == ["regex-compile"]


def test_a_warning_names_the_offending_regex() -> None:
    (warning,) = lint_rule(rule("f:/passwd -> r:\\+"), W4, RegexEngine.OSREGEX)
    assert warning.excerpt == "\\+"
    assert "OS_Regex" in warning.message
