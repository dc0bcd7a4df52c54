"""Policy loading: what refuses a policy (every problem, located by file:line and check id), what
only warns, dialect detection, variables, compliance and the Bulwark extensions."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from workers.engine.definitions import (
    BenchmarkDefinition,
    Condition,
    Dialect,
    MintermKind,
    PolicyDefinition,
    RegexEngine,
    RuleType,
)
from workers.engine.policy import (
    LoadResult,
    find_cross_policy_duplicates,
    load_policy,
    load_policy_text,
)

W4_HEAD = """\
policy:
  id: "demo"
  file: "demo.yml"
  name: "Demo policy"
  description: "For tests"
"""

W5_HEAD = """\
policy:
  id: "demo"
  name: "Demo policy"
"""


def load(text: str, path: str = "demo.yml", **kwargs: Dialect) -> LoadResult:
    return load_policy_text(textwrap.dedent(text), path, **kwargs)


def loaded(text: str) -> PolicyDefinition:
    result = load(text)
    assert result.errors == []
    assert result.policy is not None
    return result.policy


def problems(result: LoadResult, kind: str = "errors") -> list[tuple[int | None, str | None, str]]:
    return [(p.line, p.check_id, p.code) for p in getattr(result, kind)]


# -- a valid policy ------------------------------------------------------------------------------


def test_it_loads_a_w4_policy() -> None:
    policy = loaded(
        W4_HEAD
        + """\
requirements:
  title: "Debian"
  description: "Debian 12"
  condition: any
  rules:
    - 'f:/etc/debian_version -> r:^12'
checks:
  - id: 100
    title: "SSH root login disabled"
    description: "Root must not log in."
    compliance:
      - cis: ["5.2.7"]
      - cis_csc_v8: ["5.4", "4.10"]
    references:
      - https://example.org/a
    condition: all
    rules:
      - 'f:/etc/ssh/sshd_config -> !r:^# && r:PermitRootLogin\\s+no'
      - 'not c:sshd -T -> r:permitrootlogin yes'
"""
    )
    assert (policy.id, policy.name, policy.description, policy.file) == (
        "demo",
        "Demo policy",
        "For tests",
        "demo.yml",
    )
    assert policy.dialect is Dialect.W4
    assert policy.regex_engine is RegexEngine.OSREGEX
    assert policy.requirements is not None
    assert policy.requirements.condition is Condition.ANY
    assert policy.requirements.rules[0].type is RuleType.FILE
    (check,) = policy.checks
    assert (check.id, check.title, check.condition, check.line) == (
        "100",
        "SSH root login disabled",
        Condition.ALL,
        13,
    )
    # mitre_techniques derived from the safeguards (workers/engine/attack.yml).
    assert check.compliance == {
        "cis": ("5.2.7",),
        "cis_csc_v8": ("5.4", "4.10"),
        "mitre_techniques": ("T1548", "T1548.003", "T1078", "T1110"),
    }
    assert check.references == ("https://example.org/a",)
    assert [r.type for r in check.rules] == [RuleType.FILE, RuleType.COMMAND]
    assert check.rules[1].negated and check.rules[1].argv == ("sshd", "-T")


def test_it_loads_a_w5_policy_with_string_ids_mitre_and_map_compliance() -> None:
    policy = loaded(
        W5_HEAD
        + """\
requirements:
  name: "Debian"
  condition: all
  rules:
    - 'f:/etc/debian_version -> r:^12'
checks:
  - id: ssh-1
    name: "SSH root login disabled"
    compliance:
      pci_dss: ["2.2"]
      nist_800_53: CM-6
    mitre:
      technique:
        id: ["T1078"]
        name: ["Valid Accounts"]
    condition: none
    rules:
      - 'c:sshd -T -> r:permitrootlogin yes'
"""
    )
    assert policy.dialect is Dialect.W5
    assert policy.regex_engine is RegexEngine.PCRE2
    assert policy.description == "" and policy.file == ""
    assert policy.requirements is not None and policy.requirements.title == "Debian"
    (check,) = policy.checks
    assert (check.id, check.title, check.condition) == (
        "ssh-1",
        "SSH root login disabled",
        Condition.NONE,
    )
    assert check.compliance == {"pci_dss": ("2.2",), "nist_800_53": ("CM-6",)}
    assert check.mitre == {"technique.id": ("T1078",), "technique.name": ("Valid Accounts",)}
    assert check.regex_engine is RegexEngine.PCRE2


def test_compliance_values_keep_their_text() -> None:
    policy = loaded(
        W4_HEAD
        + """\
checks:
  - id: 1
    title: "t"
    compliance:
      - cis_csc_v8: [4.10, 5]
      - cis_csc_v8: "6.1"
      - nist: 1.10
    condition: all
    rules: ['f:/etc/passwd']
"""
    )
    assert policy.checks[0].compliance == {
        "cis_csc_v8": ("4.10", "5", "6.1"),
        "nist": ("1.10",),
        "mitre_techniques": ("T1110",),  # from 4.10; the table has no 5 or 6.1
    }


def test_it_keeps_the_bulwark_category_and_level() -> None:
    policy = loaded(
        W4_HEAD
        + """\
checks:
  - id: 1
    title: "t"
    category: "Account Management"
    level: 2
    condition: all
    rules: ['f:/etc/passwd']
"""
    )
    assert (policy.checks[0].category, policy.checks[0].level) == ("Account Management", 2)


@pytest.mark.parametrize(
    ("profile", "names", "levels"),
    [
        ("server", ("server",), ()),
        ("[server, workstation]", ("server", "workstation"), ()),
        (
            "{server: 1, workstation: 2}",
            ("server", "workstation"),
            (("server", 1), ("workstation", 2)),
        ),
        ("{server: 2}", ("server",), (("server", 2),)),
    ],
)
def test_it_keeps_the_profiles_and_the_level_in_each(
    profile: str, names: tuple[str, ...], levels: tuple[tuple[str, int], ...]
) -> None:
    text = W4_HEAD + "checks:\n  - id: 1\n    title: t\n    level: 1\n"
    policy = loaded(
        text + f"    profile: {profile}\n    condition: all\n    rules: ['f:/etc/passwd']\n"
    )
    assert (policy.checks[0].profiles, policy.checks[0].profile_levels) == (names, levels)


@pytest.mark.parametrize(
    ("profile", "message"),
    [
        ("{desktop: 1}", "profile 'desktop' must be one of"),
        ("{server: 3}", "level '3' must be 1 or 2"),
        ("kiosk", "must be one of"),
    ],
)
def test_a_bad_profile_is_an_error_naming_the_line(profile: str, message: str) -> None:
    text = W4_HEAD + "checks:\n  - id: 1\n    title: t\n"
    result = load(
        text + f"    profile: {profile}\n    condition: all\n    rules: ['f:/etc/passwd']\n"
    )
    assert result.policy is None or result.errors
    assert any(message in e.message and e.line == 9 for e in result.errors), (
        result.errors
    )  # the profile line


def test_a_profile_selection_uses_the_checks_level_in_that_profile() -> None:
    from workers.engine.selection import PolicySelection

    text = W4_HEAD + "checks:\n  - id: 1\n    title: t\n    level: 1\n"
    text += "    profile: {server: 1, workstation: 2}\n    condition: all\n"
    check = loaded(text + "    rules: ['f:/etc/passwd']\n").checks[0]
    assert PolicySelection(frozenset({1}), "server").includes(check)
    assert not PolicySelection(frozenset({1}), "workstation").includes(check)
    assert PolicySelection(frozenset({1, 2}), "workstation").includes(check)
    assert PolicySelection(frozenset({1}), None).includes(check)  # no profile: its `level`


# -- dialect and regex engine ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("check_fields", "dialect"),
    [
        ('    title: "t"\n    compliance:\n      - cis: ["1"]\n', Dialect.W4),
        ('    name: "t"\n', Dialect.W5),
        ('    title: "t"\n    compliance:\n      cis: ["1"]\n', Dialect.W5),
        ('    title: "t"\n    mitre:\n      tactic: {id: ["TA0005"]}\n', Dialect.W5),
    ],
)
def test_it_detects_the_dialect(check_fields: str, dialect: Dialect) -> None:
    text = W4_HEAD + "checks:\n  - id: 1\n" + check_fields + "    condition: all\n"
    text += "    rules: ['f:/etc/passwd']\n"
    result = load(text)
    assert result.errors == []
    assert result.policy is not None and result.policy.dialect is dialect


def test_an_explicit_dialect_wins_over_detection() -> None:
    body = 'checks:\n  - id: 1\n    title: "t"\n    condition: all\n    rules: ["f:/a,/b"]\n'
    top = load("dialect: w5\n" + W4_HEAD + body).policy
    assert top is not None and top.dialect is Dialect.W5
    assert top.checks[0].rules[0].locations == ("/a,/b",)
    nested = load(W4_HEAD + "  dialect: W5\n" + body).policy
    assert nested is not None and nested.dialect is Dialect.W5
    chosen = load(W4_HEAD + body, dialect=Dialect.W5).policy
    assert chosen is not None and chosen.dialect is Dialect.W5
    assert problems(load("dialect: w6\n" + W4_HEAD + body)) == [(1, None, "bad-dialect")]


def test_w4_uses_os_regex_unless_pcre2_is_asked_for() -> None:
    text = (
        W4_HEAD
        + """\
  regex_type: pcre2
checks:
  - id: 1
    title: "policy engine"
    condition: all
    rules: ['f:/etc/passwd']
  - id: 2
    title: "check override"
    regex_type: osregex
    condition: all
    rules: ['f:/etc/passwd']
"""
    )
    policy = loaded(text)
    assert policy.regex_engine is RegexEngine.PCRE2
    assert [c.regex_engine for c in policy.checks] == [RegexEngine.PCRE2, RegexEngine.OSREGEX]
    w5 = load(text, dialect=Dialect.W5).policy
    assert w5 is not None
    assert {c.regex_engine for c in w5.checks} == {RegexEngine.PCRE2}


# -- errors ----------------------------------------------------------------------------------------


def test_every_problem_is_reported_with_its_line_and_check() -> None:
    result = load(
        W4_HEAD
        + """\
checks:
  - id: 1
    condition: all
    rules: ['f:/etc/passwd']
  - id: 2
    title: "bad condition"
    condition: most
    rules: ['f:/etc/passwd']
  - id: 3
    title: "bad rule"
    condition: all
    rules:
      - 'f:/etc/passwd'
      - 'x:/etc/passwd'
      - 7
  - id: 3
    title: "duplicate id"
    condition: all
    rules: []
"""
    )
    assert result.policy is None
    assert problems(result) == [
        (7, "1", "missing-title"),
        (12, "2", "bad-condition"),
        (19, "3", "rule-type"),
        (20, "3", "bad-rule"),
        (24, "3", "bad-rules"),
        (21, "3", "duplicate-check-id"),
    ]
    assert str(result.errors[2]).startswith("demo.yml:19: check 3 check 3: unknown rule type")
    assert result.errors[2].rule == "x:/etc/passwd"


def test_w4_needs_positive_integer_ids_and_w5_accepts_strings() -> None:
    body = """\
checks:
  - id: "ssh-1"
    title: "t"
    condition: all
    rules: ['f:/etc/passwd']
  - id: 0
    title: "t"
    condition: all
    rules: ['f:/etc/passwd']
  - title: "no id"
    condition: all
    rules: ['f:/etc/passwd']
"""
    assert problems(load(W4_HEAD + body)) == [
        (7, None, "bad-id"),
        (11, None, "bad-id"),
        (15, None, "missing-id"),
    ]
    assert problems(load(W4_HEAD + body, dialect=Dialect.W5)) == [(15, None, "missing-id")]


def test_w4_requires_the_four_policy_fields_and_w5_only_the_id() -> None:
    body = 'checks:\n  - id: 1\n    title: "t"\n    condition: all\n    rules: ["f:/a"]\n'
    text = 'policy:\n  id: "x"\n  name: 12\n' + body
    assert problems(load(text)) == [
        (3, None, "bad-name"),
        (2, None, "missing-description"),
        (2, None, "missing-file"),
    ]
    assert problems(load(text, dialect=Dialect.W5)) == []
    assert problems(load("policy:\n  name: x\n" + body, dialect=Dialect.W5)) == [
        (2, None, "missing-id")
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- 1\n- 2\n", [(1, None, "not-a-mapping")]),
        ("policy: [1]\nchecks: []\n", [(1, None, "bad-policy")]),
        ("checks: []\n", [(1, None, "missing-policy")]),
        (W4_HEAD, [(1, None, "missing-checks")]),
        (W4_HEAD + "checks: {}\n", [(6, None, "bad-checks")]),
        (W4_HEAD + "checks:\n  - just text\n", [(7, None, "bad-check")]),
        (W4_HEAD + "checks: [\n", [(7, None, "yaml-syntax")]),
    ],
)
def test_it_refuses_a_file_that_is_not_a_policy(
    text: str, expected: list[tuple[int | None, str | None, str]]
) -> None:
    result = load(text)
    assert result.policy is None
    assert problems(result) == expected


def test_it_checks_rules_lists() -> None:
    many = "\n".join(f"      - 'f:/tmp/{n}'" for n in range(256))
    result = load(
        W4_HEAD
        + f"""\
checks:
  - id: 1
    title: "too many"
    condition: all
    rules:
{many}
  - id: 2
    title: "not a list"
    condition: all
    rules: 'f:/etc/passwd'
  - id: 3
    title: "missing"
    condition: all
"""
    )
    assert problems(result) == [
        (11, "1", "bad-rules"),
        (270, "2", "bad-rules"),
        (271, "3", "missing-rules"),
    ]


def test_deprecated_conditions_load_with_a_warning() -> None:
    result = load(
        W4_HEAD + 'checks:\n  - id: 1\n    title: "t"\n    condition: all required\n'
        "    rules: ['f:/a']\n"
    )
    assert result.policy is not None
    assert result.policy.checks[0].condition is Condition.ALL
    assert problems(result, "warnings") == [(9, "1", "condition-deprecated")]


def test_it_checks_the_requirements_section() -> None:
    body = 'checks:\n  - id: 1\n    title: "t"\n    condition: all\n    rules: ["f:/a"]\n'
    w5_style = W4_HEAD + "requirements:\n  name: x\n  condition: maybe\n  rules: ['!f:/a']\n"
    assert problems(load(w5_style + body, dialect=Dialect.W4)) == [
        (7, None, "missing-title"),
        (7, None, "missing-description"),
        (8, None, "bad-condition"),
    ]
    assert problems(load(w5_style + body)) == [(8, None, "bad-condition")]  # detected as W5
    assert problems(load(W4_HEAD + "requirements: [1]\n" + body)) == [(6, None, "bad-requirements")]


def test_a_bang_rule_is_tolerated_in_w4_requirements_only() -> None:
    requirements = "requirements:\n  title: r\n  description: d\n  condition: all\n"
    requirements += "  rules: ['!f:/etc/debian_version']\n"
    check = 'checks:\n  - id: 1\n    title: "t"\n    condition: all\n    rules: ["!f:/a"]\n'
    result = load(W4_HEAD + requirements + check)
    assert problems(result) == [(15, "1", "negated-type")]


def test_variables_must_be_named_with_a_dollar() -> None:
    body = 'checks:\n  - id: 1\n    title: "t"\n    condition: all\n    rules: ["f:/a"]\n'
    result = load(W4_HEAD + "variables:\n  $ok: /a\n  bad: /b\n  $list: [1]\n  $empty:\n" + body)
    assert problems(result) == [(8, None, "bad-variable"), (9, None, "bad-variable")]
    assert problems(load(W4_HEAD + "variables: [1]\n" + body)) == [(6, None, "bad-variables")]


def test_bulwark_extensions_are_validated() -> None:
    result = load(
        W4_HEAD
        + """\
checks:
  - id: 1
    title: "t"
    level: 3
    category: [x]
    condition: all
    rules: ['f:/etc/passwd']
"""
    )
    assert problems(result) == [(9, "1", "bad-level"), (10, "1", "bad-category")]


def test_it_keeps_the_benchmark_a_policy_states_and_warns_on_a_malformed_one() -> None:
    checks = """\
checks:
  - id: "c1"
    name: "t"
    condition: all
    rules: ['f:/etc/passwd']
"""
    stated = (
        W5_HEAD
        + """\
  benchmark:
    name: "CIS Demo Benchmark"
    version: "2.0.0"
    profile: "Level 1 - Server"
"""
        + checks
    )
    policy = loaded(stated)
    assert policy.benchmark == BenchmarkDefinition(
        "CIS Demo Benchmark", "2.0.0", "Level 1 - Server"
    )
    assert loaded(W5_HEAD + checks).benchmark is None
    listed = loaded(
        W5_HEAD
        + """\
  benchmark:
    name: "CIS Demo Benchmark"
    version: "2.0.0"
    uncovered:
      level_1: ["1.1.1", "1.2"]
      level_2: []
"""
        + checks
    )
    assert listed.benchmark is not None
    assert listed.benchmark.uncovered == {1: ("1.1.1", "1.2"), 2: ()}
    # The warning names the line: the scalar given for the mapping, or the unknown key.
    for bad, line in (('  benchmark: "2.0.0"\n', 4), ("  benchmark:\n    edition: x\n", 5)):
        result = load(W5_HEAD + bad + checks)
        assert result.policy is not None
        assert problems(result, "warnings") == [(line, None, "bad-benchmark")]


# -- variables -------------------------------------------------------------------------------------


VARIABLES = """\
variables:
  $sshd_file: /etc/ssh/sshd_config
  $sshd: WRONG
  $dirs: /etc/a,/etc/b
checks:
  - id: 1
    title: "Title with $sshd_file"
    condition: all
    rules:
      - 'f:$sshd_file -> r:$sshd'
      - 'd:$dirs -> conf'
      - 'c:cat $sshd_file -> r:^x'
"""


def test_w4_substitutes_variables_in_locations_only() -> None:
    policy = loaded(W4_HEAD + VARIABLES)
    assert policy.variables["$dirs"] == "/etc/a,/etc/b"
    check = policy.checks[0]
    assert check.title == "Title with $sshd_file"
    assert check.rules[0].locations == ("/etc/ssh/sshd_config",)
    assert check.rules[0].pattern is not None
    assert check.rules[0].pattern.minterms[0].text == "$sshd"
    assert check.rules[1].locations == ("/etc/a", "/etc/b")
    assert check.rules[2].argv == ("cat", "/etc/ssh/sshd_config")


def test_w5_substitutes_variables_in_every_string() -> None:
    result = load(W4_HEAD + VARIABLES, dialect=Dialect.W5)
    assert result.policy is not None
    check = result.policy.checks[0]
    assert check.title == "Title with /etc/ssh/sshd_config"
    assert check.rules[0].raw == "f:/etc/ssh/sshd_config -> r:WRONG"
    assert check.rules[0].pattern is not None
    assert check.rules[0].pattern.minterms[0].text == "WRONG"
    assert check.rules[1].locations == ("/etc/a,/etc/b",)  # no comma lists in W5


# -- warnings --------------------------------------------------------------------------------------


def test_warnings_name_the_line_the_check_and_the_rule() -> None:
    result = load(
        W4_HEAD
        + """\
checks:
  - id: 7
    title: "t"
    condition: any
    rules:
      - 'c:auditctl -l-> r:^-a'
      - 'd:->/etc/sysctl.d/ -> r:\\.*.conf -> r:^x'
      - 'f:/etc/passwd -> r:\\+'
      - 'c:sshd -T -> n:^maxauthtries\\s+(\\d+) compare => 4 && n:^x(\\d+) compare =< 1'
      - 'f:/etc/security/faillock.conf -> n:root_unlock_time >= 60'
"""
    )
    assert result.errors == [] and result.policy is not None
    assert problems(result, "warnings") == [
        (11, "7", "missing-space-arrow"),
        (12, "7", "d-arrow"),
        (13, "7", "regex-compile"),
        (14, "7", "op-ge-written-equals"),
        (14, "7", "op-le-written-equals"),
        (15, "7", "n-without-compare"),
    ]
    regex = result.warnings[2]
    assert (regex.rule, regex.excerpt) == ("f:/etc/passwd -> r:\\+", "\\+")
    assert str(regex).startswith("demo.yml:13: check 7 regex does not compile in OS_Regex")


def test_requirement_warnings_say_so() -> None:
    result = load(
        W4_HEAD
        + "requirements:\n  title: r\n  description: d\n  condition: all\n"
        + "  rules: ['f:/etc/os-release -> r:\\[x']\n"
        + 'checks:\n  - id: 1\n    title: "t"\n    condition: all\n    rules: ["f:/a"]\n'
    )
    (warning,) = result.warnings
    assert (warning.line, warning.check_id, warning.code) == (10, None, "regex-compile")
    assert warning.message.startswith("requirements: ")


def test_a_repeated_key_keeps_the_first_value_with_a_warning() -> None:
    result = load(
        W4_HEAD + 'checks:\n  - id: 1\n    title: "first"\n    title: "second"\n'
        "    condition: all\n    rules: ['f:/a']\n"
    )
    assert result.policy is not None and result.policy.checks[0].title == "first"
    assert problems(result, "warnings") == [(9, "1", "duplicate-key")]


def test_it_reports_ids_used_by_several_policies() -> None:
    def policy(policy_id: str, path: str, *check_ids: int) -> PolicyDefinition:
        checks = "".join(
            f'  - id: {n}\n    title: "t"\n    condition: all\n    rules: ["f:/a"]\n'
            for n in check_ids
        )
        text = W4_HEAD.replace('"demo"', f'"{policy_id}"') + "checks:\n" + checks
        result = load(text, path)
        assert result.policy is not None
        return result.policy

    found = find_cross_policy_duplicates(
        [policy("a", "a.yml", 1, 2), policy("b", "b.yml", 3, 2), policy("a", "c.yml", 4)]
    )
    assert [(p.path, p.line, p.check_id, p.code) for p in found] == [
        ("b.yml", 11, "2", "duplicate-check-id-across-policies"),
        ("c.yml", None, None, "duplicate-policy-id"),
    ]
    assert "a.yml:11" in found[0].message


# -- files -----------------------------------------------------------------------------------------


def test_it_loads_from_a_file_and_names_it(tmp_path: Path) -> None:
    path = tmp_path / "p.yml"
    path.write_text(
        W4_HEAD + 'checks:\n  - id: 1\n    title: "t"\n    condition: all\n    rules: ["f:/a"]\n'
    )
    result = load_policy(path)
    assert result.policy is not None and result.policy.path == str(path)
    assert result.policy.checks[0].rules[0].pattern is None
    missing = load_policy(tmp_path / "missing.yml")
    assert missing.policy is None
    assert [p.code for p in missing.errors] == ["unreadable"]


def test_a_numeric_minterm_keeps_both_sides_of_compare() -> None:
    policy = loaded(
        W4_HEAD + 'checks:\n  - id: 1\n    title: "t"\n    condition: all\n'
        "    rules: ['c:sshd -T -> n:^maxauthtries\\s+(\\d+) compare <= 4']\n"
    )
    pattern = policy.checks[0].rules[0].pattern
    assert pattern is not None
    (minterm,) = pattern.minterms
    assert (minterm.kind, minterm.text, minterm.compare_text) == (
        MintermKind.NUMERIC,
        "^maxauthtries\\s+(\\d+)",
        "<= 4",
    )
