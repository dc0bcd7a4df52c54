"""Evaluation semantics of docs/policy-format.md §3-§7, each 4.x/5.x difference in both dialects."""

from __future__ import annotations

import pytest

from tests.workers.engine.conftest import FactsBuilder, make_policy
from workers.engine.definitions import Dialect
from workers.engine.evaluate import CheckStatus, PolicyStatus, evaluate_policy
from workers.engine.facts import CommandRequest, FileRequest, PathState
from workers.engine.plan import check_requests
from workers.engine.policy import load_policy_text

W4, W5 = Dialect.W4, Dialect.W5
PASSED, FAILED, NA = CheckStatus.PASSED, CheckStatus.FAILED, CheckStatus.NOT_APPLICABLE


def status(rules, facts, dialect=W4, condition="all", **kwargs):
    policy = make_policy(
        rules if isinstance(rules, list) else [rules],
        dialect=dialect,
        condition=condition,
        **kwargs,
    )
    evaluation = evaluate_policy(policy, facts.facts)
    if not evaluation.checks:
        return evaluation
    return evaluation.checks[0].status


def result(check):
    return check.checks[0]


# -- §3 content patterns ---------------------------------------------------------------------


@pytest.mark.parametrize("dialect", [W4, W5])
def test_all_minterms_must_hold_on_the_same_line(dialect) -> None:
    facts = FactsBuilder().file("/f", "alpha\nbeta\n")
    assert status("f:/f -> r:alpha && r:beta", facts, dialect) is FAILED
    facts = FactsBuilder().file("/f", "alpha beta\n")
    assert status("f:/f -> r:alpha && r:beta", facts, dialect) is PASSED


def test_a_lone_negated_minterm_means_some_line_in_w4_and_no_line_in_w5() -> None:
    facts = FactsBuilder().file("/f", "foo\nbar\n")
    assert status("f:/f -> !r:foo", facts, W4) is PASSED  # "bar" does not contain foo
    assert status("f:/f -> !r:foo", facts, W5) is FAILED  # some line contains foo
    clean = FactsBuilder().file("/f", "bar\n")
    assert status("f:/f -> !r:foo", clean, W5) is PASSED


def test_two_minterms_with_a_negation_work_per_line_in_both() -> None:
    facts = FactsBuilder().file("/f", "# PermitRootLogin no\nPermitRootLogin yes\n")
    for dialect in (W4, W5):
        assert status("f:/f -> !r:^# && r:PermitRootLogin\\s+no", facts, dialect) is FAILED
        assert status("f:/f -> !r:^# && r:PermitRootLogin\\s+yes", facts, dialect) is PASSED


def test_literals_compare_whole_lines_case_insensitively_only_in_w4() -> None:
    facts = FactsBuilder().file("/proc/x", "Enabled\n")
    assert status("f:/proc/x -> enabled", facts, W4) is PASSED
    assert status("f:/proc/x -> enabled", facts, W5) is FAILED
    assert status("f:/proc/x -> Enabled", facts, W5) is PASSED
    assert status("f:/proc/x -> Enable", facts, W4) is FAILED


def test_w5_command_literal_is_the_entire_trimmed_output() -> None:
    facts = FactsBuilder().command("systemctl is-enabled x", "enabled\nextra\n")
    assert status("c:systemctl is-enabled x -> enabled", facts, W4) is PASSED
    assert status("c:systemctl is-enabled x -> enabled", facts, W5) is FAILED
    facts = FactsBuilder().command("systemctl is-enabled x", "enabled\n\n")
    assert status("c:systemctl is-enabled x -> enabled", facts, W5) is PASSED


def test_uppercase_prefixes_are_recognised_only_in_w4() -> None:
    facts = FactsBuilder().file("/f", "value 1\n")
    assert status("f:/f -> R:^value", facts, W4) is PASSED
    assert status("f:/f -> R:^value", facts, W5) is FAILED  # a literal "R:^value"


def test_osregex_is_case_insensitive_w4_pcre2_case_sensitive_w5_pcre2_caseless() -> None:
    facts = FactsBuilder().file("/f", "permitrootlogin no\n")
    assert status("f:/f -> r:PermitRootLogin", facts, W4) is PASSED
    assert status("f:/f -> r:PermitRootLogin", facts, W5) is PASSED
    text = (
        "policy: {id: t, file: t.yml, name: n, description: d, regex_type: pcre2}\n"
        "checks:\n  - id: 1\n    title: t\n    condition: all\n"
        "    rules: ['f:/f -> r:PermitRootLogin']\n"
    )
    loaded = load_policy_text(text, "p.yml").policy
    assert evaluate_policy(loaded, facts.facts).checks[0].status is FAILED


def test_a_regex_that_does_not_compile_never_matches_in_w4_and_is_invalid_in_w5() -> None:
    facts = FactsBuilder().file("/f", "a+b\n")
    assert status("f:/f -> r:\\+", facts, W4) is FAILED
    assert status("f:/f -> !r:\\+", facts, W4) is PASSED
    assert status("f:/f -> r:(unbalanced", facts, W5) is NA


# -- §3.1 numeric ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "rule", "expected"),
    [
        ("MaxAuthTries 4", "n:^MaxAuthTries\\s+(\\d+) compare <= 4", PASSED),
        ("MaxAuthTries 5", "n:^MaxAuthTries\\s+(\\d+) compare <= 4", FAILED),
        ("x 3", "n:^x\\s+(\\d+) compare < 4", PASSED),
        ("x 4", "n:^x\\s+(\\d+) compare > 3", PASSED),
        ("x 4", "n:^x\\s+(\\d+) compare >= 5", FAILED),
        ("x 4", "n:^x\\s+(\\d+) compare == 4", PASSED),
        ("x 4", "n:^x\\s+(\\d+) compare != 4", FAILED),
    ],
)
@pytest.mark.parametrize("dialect", [W4, W5])
def test_numeric_comparisons(line, rule, expected, dialect) -> None:
    facts = FactsBuilder().file("/f", line + "\n")
    assert status(f"f:/f -> {rule}", facts, dialect) is expected


def test_w4_numeric_quirks() -> None:
    facts = FactsBuilder().file("/f", "x 5\n")
    assert status("f:/f -> n:^x\\s+(\\d+) compare => 3", facts) is FAILED  # => is equality
    assert status("f:/f -> n:^x\\s+(\\d+) compare => 5", facts) is PASSED
    assert status("f:/f -> n:^x\\s+(\\d+) compare =< 5", facts) is PASSED
    minus = FactsBuilder().file("/f", "x 1\n")
    assert status("f:/f -> n:^x\\s+(\\d+) compare > -1", minus) is FAILED  # -1 reads as 1
    assert status("f:/f -> n:^x\\s+(\\d+) <= 4", facts) is NA  # no ' compare '
    assert status("f:/f -> n:^x\\s+\\d+ compare <= 9", facts) is NA  # no capture group


def test_w4_no_space_operator_reads_as_the_operator() -> None:
    facts = FactsBuilder().file("/f", "x 5\n")
    assert status("f:/f -> n:^x\\s+(\\d+) compare <=5", facts) is PASSED


def test_w5_numeric_strictness() -> None:
    facts = FactsBuilder().file("/f", "x 5\n")
    assert status("f:/f -> n:^x\\s+(\\d+) compare => 5", facts, W5) is NA
    assert status("f:/f -> n:\\d+ compare == 5", facts, W5) is PASSED  # no group: whole match
    assert status("f:/f -> n:^x\\s+\\d+ compare == 5", facts, W5) is NA  # "x 5" is no number
    big = FactsBuilder().file("/f", "x 3000000000\n")
    assert status("f:/f -> n:^x\\s+(\\d+) compare > 1", big, W5) is NA  # stoi overflows int32
    assert status("f:/f -> n:^x\\s+(\\d+) compare > 1", big, W4) is PASSED


def test_numeric_passes_when_any_line_satisfies() -> None:
    facts = FactsBuilder().file("/f", "MaxAuthTries 10\nMaxAuthTries 3\n")
    for dialect in (W4, W5):
        assert status("f:/f -> n:^MaxAuthTries\\s+(\\d+) compare <= 4", facts, dialect) is PASSED


# -- §4.1 files ------------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", [W4, W5])
def test_missing_files(dialect) -> None:
    facts = FactsBuilder().missing("/x")
    assert status("f:/x", facts, dialect) is FAILED
    assert status("not f:/x", facts, dialect) is PASSED
    assert status("f:/x -> r:y", facts, dialect) is NA
    assert status("not f:/x -> r:y", facts, dialect) is NA  # negation never rescues INVALID


def test_a_directory_in_a_file_rule_is_invalid_in_w4_not_found_in_w5() -> None:
    facts = FactsBuilder().file("/etc", None, PathState.DIRECTORY)
    assert status("not f:/etc", facts, W4) is NA
    assert status("not f:/etc", facts, W5) is PASSED


def test_comma_lists_in_w4_first_found_wins_even_after_invalid() -> None:
    facts = FactsBuilder().missing("/a").file("/b", "key yes\n")
    assert status("f:/a,/b -> r:key yes", facts, W4) is PASSED
    facts = FactsBuilder().missing("/a").file("/b", "key no\n")
    assert status("f:/a,/b -> r:key yes", facts, W4) is NA
    facts = FactsBuilder().missing("/a").missing("/b")
    assert status("f:/a,/b", facts, W4) is FAILED


def test_an_empty_file_has_no_lines() -> None:
    facts = FactsBuilder().file("/f", "")
    for dialect in (W4, W5):
        assert status("f:/f -> !r:x", facts, dialect) is FAILED


def test_w4_cuts_long_lines_into_2047_byte_chunks() -> None:
    facts = FactsBuilder().file("/f", "a" * 2047 + "needle\n")
    assert status("f:/f -> r:^needle$", facts, W4) is PASSED
    assert status("f:/f -> r:^needle$", facts, W5) is FAILED


def test_crlf_is_stripped_in_w4_and_kept_in_w5() -> None:
    facts = FactsBuilder().file("/f", "value\r\n")
    assert status("f:/f -> r:^value$", facts, W4) is PASSED
    assert status("f:/f -> r:^value$", facts, W5) is FAILED


def test_an_invalid_minterm_stops_the_w4_file_scan_as_invalid() -> None:
    facts = FactsBuilder().file("/f", "x\n")
    assert status("f:/f -> r:x && n:^x compare <= 1", facts, W4) is NA


# -- §4.2 directories ------------------------------------------------------------------------


def test_directory_existence() -> None:
    facts = FactsBuilder().directory("/etc/sudoers.d").missing("/nope")
    for dialect in (W4, W5):
        assert status("d:/etc/sudoers.d", facts, dialect) is PASSED
        assert status("d:/nope", facts, dialect) is FAILED
    regular = FactsBuilder().file("/file", "x")
    assert status("d:/file", regular, W4) is NA
    assert status("d:/file", regular, W5) is FAILED


def test_a_missing_directory_with_a_filename_is_invalid() -> None:
    facts = FactsBuilder().missing("/nope")
    from workers.engine.facts import DirectoryFact, DirectoryRequest

    facts.facts.by_request[DirectoryRequest("/nope")] = DirectoryFact(PathState.MISSING)
    for dialect in (W4, W5):
        assert status("d:/nope -> x.conf", facts, dialect) is NA


def test_filename_is_a_substring_in_w4_and_an_exact_name_in_w5() -> None:
    facts = FactsBuilder().directory("/etc/x", [("/etc/x/sshd_config", False, True)])
    assert status("d:/etc/x -> conf", facts, W4) is PASSED
    assert status("d:/etc/x -> conf", facts, W5) is FAILED
    assert status("d:/etc/x -> sshd_config", facts, W5) is PASSED


def test_directory_content_rules_read_matching_files() -> None:
    facts = (
        FactsBuilder()
        .directory(
            "/etc/audit/rules.d",
            [
                ("/etc/audit/rules.d/a.rules", False, True),
                ("/etc/audit/rules.d/b.txt", False, True),
            ],
        )
        .file("/etc/audit/rules.d/a.rules", "-w /etc/sudoers -p wa\n")
        .file("/etc/audit/rules.d/b.txt", "-w /etc/passwd\n")
    )
    rule = "d:/etc/audit/rules.d -> r:\\.rules$ -> r:-w /etc/sudoers"
    assert status(rule, facts, W4) is PASSED
    assert status("d:/etc/audit/rules.d -> r:\\.rules$ -> r:-w /etc/passwd", facts, W4) is FAILED
    assert status(rule.replace("\\.rules$", "\\.rules$"), facts, W5) is PASSED


def test_w5_skips_symlinks_in_walks() -> None:
    facts = FactsBuilder().directory("/d", [("/d/link.conf", True, True)])
    assert status("d:/d -> r:\\.conf$", facts, W4) is PASSED
    assert status("d:/d -> r:\\.conf$", facts, W5) is FAILED


def test_the_plan_asks_for_files_a_walk_selected() -> None:
    policy = make_policy(["d:/etc/audit/rules.d -> r:\\.rules$ -> r:-w"])
    facts = (
        FactsBuilder()
        .directory(
            "/etc/audit/rules.d",
            [
                ("/etc/audit/rules.d/a.rules", False, True),
                ("/etc/audit/rules.d/b.txt", False, True),
            ],
        )
        .facts
    )
    assert check_requests(policy, facts) == [FileRequest("/etc/audit/rules.d/a.rules", True)]


# -- §4.3 processes ---------------------------------------------------------------------------


def test_processes() -> None:
    facts = FactsBuilder().processes(("sshd", "/usr/sbin/sshd -D"), ("cron", "/usr/sbin/cron -f"))
    assert status("p:SSHD", facts, W4) is PASSED  # case-insensitive whole name
    assert status("p:ssh", facts, W4) is FAILED
    assert status("p:r:^ss", facts, W4) is PASSED
    assert status("p:SSHD", facts, W5) is FAILED  # exact and case-sensitive
    assert status("p:/usr/sbin/sshd -D", facts, W5) is PASSED  # or the full command line
    assert status("not p:avahi-daemon", facts, W5) is PASSED


# -- §4.4 commands ---------------------------------------------------------------------------


def test_a_command_without_pattern_is_found_without_running_in_w4_and_run_in_w5() -> None:
    w4 = make_policy(["c:auditctl -l-> r:^-a"])
    assert check_requests(w4, FactsBuilder().facts) == []
    assert evaluate_policy(w4, FactsBuilder().facts).checks[0].status is PASSED
    w5 = make_policy(["c:auditctl -l-> r:^-a"], dialect=W5)
    assert check_requests(w5, FactsBuilder().facts) == [
        CommandRequest(("auditctl", "-l->", "r:^-a"))
    ]
    assert (
        status("c:auditctl -l-> r:^-a", FactsBuilder().command("auditctl -l-> r:^-a", "", 127), W5)
        is NA
    )


def test_command_not_found_is_invalid_and_other_exit_codes_are_evaluated() -> None:
    facts = FactsBuilder().command("foo --x", "sh: foo: not found\n", 127)
    for dialect in (W4, W5):
        assert status("c:foo --x -> r:anything", facts, dialect) is NA
    facts = FactsBuilder().command("grep -q x f", "", 1)
    assert status("not c:grep -q x f -> r:x", facts, W4) is PASSED


def test_a_timeout_is_invalid_in_w4_and_not_run_in_w5() -> None:
    facts = FactsBuilder().command("sleep 9", "", 124, timed_out=True)
    assert status("c:sleep 9 -> r:x", facts, W4) is NA
    policy = make_policy(["c:sleep 9 -> r:x"], dialect=W5)
    check = evaluate_policy(policy, facts.facts).checks[0]
    assert check.status is NA and check.reason.startswith("not run")


def test_the_trailing_empty_line_makes_negation_only_command_patterns_found_in_w4() -> None:
    facts = FactsBuilder().command("lsmod", "cramfs 1\n")
    assert status("c:lsmod -> !r:cramfs", facts, W4) is PASSED  # wazuh#14361
    assert status("c:lsmod -> !r:cramfs", facts, W5) is FAILED


def test_empty_command_output_is_one_empty_line_in_w4_and_not_found_in_w5() -> None:
    facts = FactsBuilder().command("lsmod", "")
    assert status("c:lsmod -> !r:cramfs", facts, W4) is PASSED
    assert status("c:lsmod -> !r:cramfs", facts, W5) is FAILED
    assert status("c:lsmod -> r:^$", facts, W4) is PASSED


def test_w4_command_output_is_cut_into_at_most_256_pieces() -> None:
    output = "".join(f"line{i}\n" for i in range(300))
    facts = FactsBuilder().command("many", output)
    assert status("c:many -> r:^line254$", facts, W4) is PASSED
    assert status("c:many -> r:^line299$", facts, W4) is FAILED  # inside the 256th piece
    assert status("c:many -> r:^line299$", facts, W5) is PASSED


def test_backslash_newline_joins_command_lines_in_w4() -> None:
    facts = FactsBuilder().command("cat x", "a \\\nb\n")
    assert status("c:cat x -> r:^b", facts, W4) is FAILED
    assert status("c:cat x -> r:^b", facts, W5) is PASSED


# -- §5 conditions ---------------------------------------------------------------------------


def _facts_for_truth_table() -> FactsBuilder:
    return FactsBuilder().file("/yes", "x").missing("/no").file("/bad", None, PathState.DENIED)


@pytest.mark.parametrize(
    ("condition", "rules", "expected"),
    [
        ("all", ["f:/yes", "f:/yes"], PASSED),
        ("all", ["f:/yes", "f:/no"], FAILED),
        ("all", ["f:/bad -> r:x", "f:/no"], FAILED),
        ("all", ["f:/yes", "f:/bad -> r:x"], NA),
        ("any", ["f:/no", "f:/yes"], PASSED),
        ("any", ["f:/bad -> r:x", "f:/yes"], PASSED),
        ("any", ["f:/no", "f:/bad -> r:x"], NA),
        ("any", ["f:/no", "f:/no"], FAILED),
        ("none", ["f:/no", "f:/yes"], FAILED),
        ("none", ["f:/no", "f:/bad -> r:x"], NA),
        ("none", ["f:/no", "f:/no"], PASSED),
        ("none", ["not f:/yes"], PASSED),  # double negation: passes only if /yes exists
        ("none", ["not f:/no"], FAILED),
    ],
)
@pytest.mark.parametrize("dialect", [W4, W5])
def test_condition_truth_tables(condition, rules, expected, dialect) -> None:
    assert status(rules, _facts_for_truth_table(), dialect, condition) is expected


def test_w4_short_circuits_and_keeps_the_first_reason_w5_evaluates_every_rule() -> None:
    facts = _facts_for_truth_table()
    w4 = evaluate_policy(make_policy(["f:/no", "f:/bad -> r:x"]), facts.facts).checks[0]
    assert [e.rule for e in w4.evidence] == ["f:/no"]
    w5 = evaluate_policy(make_policy(["f:/no", "f:/bad -> r:x"], dialect=W5), facts.facts).checks[0]
    assert [e.rule for e in w5.evidence] == ["f:/no", "f:/bad -> r:x"]
    both = make_policy(["f:/bad -> r:x", "f:/bad2 -> r:y"], dialect=W5)
    facts.file("/bad2", None, PathState.DENIED)
    check = evaluate_policy(both, facts.facts).checks[0]
    assert check.status is NA and "/bad" in check.reason and "/bad2" in check.reason


def test_evidence_names_the_deciding_rule_and_line() -> None:
    facts = FactsBuilder().file("/etc/ssh/sshd_config", "Port 22\nPermitRootLogin yes\n")
    policy = make_policy(["f:/etc/ssh/sshd_config -> r:^PermitRootLogin\\s+yes"], condition="none")
    check = evaluate_policy(policy, facts.facts).checks[0]
    assert check.status is FAILED
    assert check.evidence[-1].line == "PermitRootLogin yes"
    assert check.evidence[-1].location == "/etc/ssh/sshd_config"


# -- §6 requirements -------------------------------------------------------------------------


def test_requirements_not_met_skip_the_policy_in_w4_and_mark_checks_in_w5() -> None:
    facts = FactsBuilder().file("/etc/debian_version", "11.7\n").file("/f", "x")
    w4 = status(["f:/f"], facts, W4, requirements=["f:/etc/debian_version -> r:^12"])
    assert w4.status is PolicyStatus.NOT_APPLICABLE and w4.checks == ()
    assert "req" in w4.reason
    policy = make_policy(["f:/f"], dialect=W5, requirements=["f:/etc/debian_version -> r:^12"])
    w5 = evaluate_policy(policy, facts.facts)
    assert w5.status is PolicyStatus.NOT_APPLICABLE
    assert [c.status for c in w5.checks] == [NA]
    assert w5.checks[0].reason == "Policy requirements not met"


def test_requirements_that_hold_let_checks_run() -> None:
    facts = FactsBuilder().file("/etc/debian_version", "12.5\n").file("/f", "x")
    assert status(["f:/f"], facts, W4, requirements=["f:/etc/debian_version -> r:^12"]) is PASSED


# -- §7 variables ----------------------------------------------------------------------------


def test_w4_variables_apply_to_locations_only_longest_first() -> None:
    variables = {"$sshd": "/wrong", "$sshd_file": "/etc/ssh/sshd_config"}
    facts = FactsBuilder().file("/etc/ssh/sshd_config", "/etc/ssh/sshd_config\n")
    assert status("f:$sshd_file -> r:^$sshd_file", facts, W4, variables=variables) is FAILED
    facts = FactsBuilder().file("/etc/ssh/sshd_config", "x\n")
    assert status("f:$sshd_file -> r:x", facts, W4, variables=variables) is PASSED


def test_w5_variables_apply_everywhere() -> None:
    variables = {"$v": "value"}
    facts = FactsBuilder().file("/f", "value\n")
    assert status("f:/f -> r:^$v$", facts, W5, variables=variables) is PASSED


def test_a_variable_may_hold_a_comma_list_in_w4() -> None:
    facts = FactsBuilder().missing("/a").file("/b", "x")
    assert status("f:$files", facts, W4, variables={"$files": "/a,/b"}) is PASSED
