"""Policy YAML files loaded into PolicyDefinition, every problem located by file, line and check.

Errors refuse the policy (what W4 rejects, docs/policy-format.md §1, plus Bulwark's stricter
rules) and are all reported, not only the first; warnings are the defects of §10 that still
load. The dialect is detected per §13 unless the file or the caller names it.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from workers.engine.attack import with_techniques
from workers.engine.definitions import (
    BenchmarkDefinition,
    CheckDefinition,
    Condition,
    Dialect,
    PolicyDefinition,
    PolicyProblem,
    RegexEngine,
    RequirementsDefinition,
    RuleDefinition,
)
from workers.engine.fixes import load_fix
from workers.engine.rules import RuleSyntaxError, lint_rule, parse_rule, substitute_variables

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_NULL = "tag:yaml.org,2002:null"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_SCALARS = SafeConstructor()
_IMPLICIT = yaml.SafeLoader.yaml_implicit_resolvers
_BASE: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BASE):  # type: ignore[valid-type,misc]
    """Composes the node tree only: libyaml does it in C, and every node keeps its start mark,
    which is all the line numbers need. Policies are read from nodes, not constructed objects,
    so a value is also available as written (`4.10` stays "4.10", not the float 4.1)."""

    # The safe schema has no path resolvers and no wildcard implicit resolvers, so the same
    # tags come out without the per-node Python calls of the generic resolver (about 10% of
    # the load time of the stock policies).
    def descend_resolver(self, current_node: object, current_index: object) -> None:
        return None

    def ascend_resolver(self) -> None:
        return None

    def resolve(self, kind: type[Node], value: object, implicit: tuple[bool, bool]) -> str:
        if kind is ScalarNode:
            if implicit[0] and isinstance(value, str):
                for tag, regexp in _IMPLICIT.get(value[:1], ()):
                    if regexp.match(value):
                        return str(tag)
            return _STR
        return _SEQ if kind is SequenceNode else _MAP


_CONDITIONS = {
    "all": Condition.ALL,
    "any": Condition.ANY,
    "none": Condition.NONE,
    "all required": Condition.ALL,  # deprecated in W4, same meaning
    "any required": Condition.ANY,
}
_DIALECTS = {"w4": Dialect.W4, "4.x": Dialect.W4, "w5": Dialect.W5, "5.x": Dialect.W5}
MAX_RULES = 255
PROFILES = ("server", "workstation")


@dataclass(frozen=True)
class LoadResult:
    """A loaded policy (None when any error refused it) with every error and warning found."""

    policy: PolicyDefinition | None
    errors: list[PolicyProblem] = field(default_factory=list)
    warnings: list[PolicyProblem] = field(default_factory=list)


def load_policy(path: str | os.PathLike[str], *, dialect: Dialect | None = None) -> LoadResult:
    """Load one policy file; `dialect` overrides detection (the configuration's choice)."""
    name = os.fspath(path)
    try:
        with open(name, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        return LoadResult(None, [PolicyProblem(name, None, None, "unreadable", str(exc))])
    return load_policy_text(text, name, dialect=dialect)


def load_policy_text(text: str, path: str, *, dialect: Dialect | None = None) -> LoadResult:
    """Load a policy from its YAML text; `path` names it in messages."""
    loader = _Load(path)
    with _cyclic_gc_paused():
        policy = loader.load(text, dialect)
    return LoadResult(policy if not loader.errors else None, loader.errors, loader.warnings)


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """A stock policy composes into ~10^5 acyclic YAML nodes; the collections their allocation
    triggers re-walk every live object, which made loading 149 files 3x slower (13 s vs 4.5 s).
    Refcounting still frees everything; the collector is only resumed if it was running."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def find_cross_policy_duplicates(policies: Iterable[PolicyDefinition]) -> list[PolicyProblem]:
    """Policy ids and check ids used by more than one policy (E16). W4 refuses the later policy
    in both cases, as check ids are global on an agent; we namespace them but warn."""
    problems: list[PolicyProblem] = []
    policy_ids: dict[str, PolicyDefinition] = {}
    check_ids: dict[str, tuple[PolicyDefinition, CheckDefinition]] = {}
    for policy in policies:
        first_policy = policy_ids.setdefault(policy.id, policy)
        if first_policy is not policy:
            problems.append(
                PolicyProblem(
                    policy.path,
                    None,
                    None,
                    "duplicate-policy-id",
                    f"policy id '{policy.id}' is also used by {first_policy.path}",
                )
            )
        for check in policy.checks:
            first = check_ids.setdefault(check.id, (policy, check))
            if first[0] is not policy:
                problems.append(
                    PolicyProblem(
                        policy.path,
                        check.line,
                        check.id,
                        "duplicate-check-id-across-policies",
                        f"check id {check.id} is also used by {first[0].path}:{first[1].line}",
                    )
                )
    return problems


# -- the loader --------------------------------------------------------------------------------


def _line(node: Node | None) -> int | None:
    return None if node is None else node.start_mark.line + 1


def _detect(top: dict[str, Node]) -> Dialect:
    """§13: `name`, map-style compliance or `mitre` mean W5; otherwise W4."""
    requirements = top.get("requirements")
    if isinstance(requirements, MappingNode):
        keys = {k.value for k, _ in requirements.value if isinstance(k, ScalarNode)}
        if "name" in keys and "title" not in keys:
            return Dialect.W5
    checks = top.get("checks")
    for check in checks.value if isinstance(checks, SequenceNode) else ():
        if not isinstance(check, MappingNode):
            continue
        keys = set()
        for key, value in check.value:
            keys.add(key.value)
            if key.value == "compliance" and isinstance(value, MappingNode):
                return Dialect.W5
        if "mitre" in keys or ("name" in keys and "title" not in keys):
            return Dialect.W5
    return Dialect.W4


class _Load:
    """One file's load: collects problems while building the definitions."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.errors: list[PolicyProblem] = []
        self.warnings: list[PolicyProblem] = []
        self.dialect = Dialect.W4
        self.variables: dict[str, str] = {}
        # W5 substitutes variables in every string of the document (§7); W4 only in locations.
        self.substitute = False

    # -- problems

    def error(
        self, node: Node | None, check: str | None, code: str, message: str, rule: str | None = None
    ) -> None:
        self.errors.append(PolicyProblem(self.path, _line(node), check, code, message, rule))

    def warn(
        self,
        node: Node | None,
        check: str | None,
        code: str,
        message: str,
        rule: str | None = None,
        excerpt: str | None = None,
    ) -> None:
        problem = PolicyProblem(self.path, _line(node), check, code, message, rule, excerpt)
        self.warnings.append(problem)

    # -- node helpers

    def sub(self, text: str) -> str:
        """The W5 variable substitution of a document string; W4 keeps strings as written."""
        if self.substitute and "$" in text:
            return substitute_variables(text, self.variables)
        return text

    def mapping(self, node: MappingNode, check: str | None = None) -> dict[str, Node]:
        """Keys to value nodes. A repeated key keeps its first value, as W4's JSON lookup does."""
        result: dict[str, Node] = {}
        for key, value in node.value:
            name = str(key.value) if isinstance(key, ScalarNode) else "?"
            if name in result:
                self.warn(key, check, "duplicate-key", f"key '{name}' repeated; the first wins")
                continue
            result[name] = value
        return result

    def text(self, node: Node | None) -> str:
        """An optional descriptive field as text: scalars as written, null or missing as ""."""
        if not isinstance(node, ScalarNode) or node.tag == _NULL:
            return ""
        return self.sub(str(node.value))

    def required_text(
        self, fields: dict[str, Node], key: str, where: str, anchor: Node, check: str | None
    ) -> str:
        node = fields.get(key)
        if node is None:
            self.error(anchor, check, f"missing-{key}", f"{where}: field '{key}' is missing")
            return ""
        if not isinstance(node, ScalarNode) or node.tag != _STR:
            self.error(node, check, f"bad-{key}", f"{where}: field '{key}' must be a string")
            return ""
        return self.sub(node.value)

    def strings(self, node: Node | None, where: str, check: str | None) -> tuple[str, ...]:
        """A list of scalars (or one scalar) as text, e.g. references or compliance values."""
        if node is None or (isinstance(node, ScalarNode) and node.tag == _NULL):
            return ()
        if isinstance(node, ScalarNode):
            return (self.sub(node.value),)
        if not isinstance(node, SequenceNode):
            self.warn(node, check, "bad-list", f"{where}: expected a list of strings")
            return ()
        # Hot path (a million compliance values in the stock set): a scalar's value is a str.
        values = [item.value for item in node.value]
        if not all(type(value) is str for value in values):
            self.warn(node, check, "bad-list", f"{where}: expected a list of strings")
            values = [_flat(item) for item in node.value]
        if self.substitute:
            values = [self.sub(value) for value in values]
        return tuple(values)

    def condition(self, node: Node | None, anchor: Node, check: str | None) -> Condition:
        if node is None:
            self.error(anchor, check, "missing-condition", "field 'condition' is missing")
            return Condition.ALL
        value = node.value if isinstance(node, ScalarNode) and node.tag == _STR else None
        if value not in _CONDITIONS:
            self.error(node, check, "bad-condition", f"invalid condition {_show(node)}")
            return Condition.ALL
        if value.endswith(" required"):
            self.warn(node, check, "condition-deprecated", f"'{value}' is deprecated in W4")
        return _CONDITIONS[value]

    # -- sections

    def load(self, text: str, override: Dialect | None) -> PolicyDefinition | None:
        try:
            root = yaml.compose(text, Loader=_Loader)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = None if mark is None else mark.line + 1
            self.errors.append(PolicyProblem(self.path, line, None, "yaml-syntax", str(exc)))
            return None
        if not isinstance(root, MappingNode):
            self.error(root, None, "not-a-mapping", "a policy file must be a YAML mapping")
            return None
        top = self.mapping(root)
        policy_node = top.get("policy")
        policy = self.mapping(policy_node) if isinstance(policy_node, MappingNode) else {}
        self.dialect = override or self.explicit_dialect(top, policy) or _detect(top)
        self.load_variables(top.get("variables"))
        policy_id = name = description = file = ""
        if policy_node is None:
            self.error(root, None, "missing-policy", "section 'policy' is missing")
        elif not isinstance(policy_node, MappingNode):
            self.error(policy_node, None, "bad-policy", "section 'policy' must be a mapping")
        elif self.dialect is Dialect.W4:
            # W4 refuses a policy unless these four are strings (§1.1).
            policy_id, name, description, file = (
                self.required_text(policy, key, "policy", policy_node, None)
                for key in ("id", "name", "description", "file")
            )
        else:
            policy_id = self.required_text(policy, "id", "policy", policy_node, None)
            name = self.text(policy.get("name")) or policy_id
            description, file = self.text(policy.get("description")), self.text(policy.get("file"))
        references = self.strings(policy.get("references"), "policy references", None)
        benchmark = self.benchmark(policy.get("benchmark"))
        engine = self.regex_engine(policy.get("regex_type"), RegexEngine.OSREGEX, None)
        requirements = self.load_requirements(top.get("requirements"), engine)
        checks = self.load_checks(top.get("checks"), root, engine)
        if self.errors:
            return None
        return PolicyDefinition(
            id=policy_id,
            name=name,
            description=description,
            path=self.path,
            dialect=self.dialect,
            checks=checks,
            requirements=requirements,
            variables=self.variables,
            references=references,
            regex_engine=engine,
            file=file,
            benchmark=benchmark,
        )

    def explicit_dialect(self, top: dict[str, Node], policy: dict[str, Node]) -> Dialect | None:
        """Bulwark extension: `dialect: w4|w5` at the top level or in `policy`."""
        node = top.get("dialect") or policy.get("dialect")
        if node is None:
            return None
        value = str(node.value).lower() if isinstance(node, ScalarNode) else None
        if value not in _DIALECTS:
            self.error(node, None, "bad-dialect", f"dialect must be w4 or w5, not {_show(node)}")
            return None
        return _DIALECTS[value]

    def regex_engine(
        self, node: Node | None, default: RegexEngine, check: str | None
    ) -> RegexEngine:
        if self.dialect is Dialect.W5:
            return RegexEngine.PCRE2  # W5 ignores regex_type
        if node is None:
            return default
        value = node.value if isinstance(node, ScalarNode) else None
        if value == "pcre2":
            return RegexEngine.PCRE2
        if value != "osregex":
            self.warn(
                node, check, "regex-type-unknown", f"regex_type {_show(node)}: W4 uses OS_Regex"
            )
        return RegexEngine.OSREGEX

    def benchmark(self, node: Node | None) -> BenchmarkDefinition | None:
        """Bulwark extension `policy.benchmark`: name, version, profile, and `uncovered`, the
        benchmark's automated items without a check, as `level_1:` and `level_2:` lists."""
        if node is None:
            return None
        if not isinstance(node, MappingNode):
            self.warn(node, None, "bad-benchmark", "policy benchmark: expected a mapping")
            return None
        fields = self.mapping(node)
        unknown = sorted(set(fields) - {"name", "version", "profile", "uncovered"})
        if unknown:
            self.warn(node, None, "bad-benchmark", f"policy benchmark: unknown keys {unknown}")
        uncovered: dict[int, tuple[str, ...]] = {}
        levels = fields.get("uncovered")
        if isinstance(levels, MappingNode):
            for key, value in self.mapping(levels).items():
                if key not in ("level_1", "level_2"):
                    self.warn(levels, None, "bad-benchmark", f"uncovered: unknown key {key!r}")
                    continue
                uncovered[int(key[-1])] = self.strings(value, "uncovered items", None)
        elif levels is not None:
            self.warn(levels, None, "bad-benchmark", "uncovered: expected level_1/level_2 lists")
        return BenchmarkDefinition(
            name=self.text(fields.get("name")),
            version=self.text(fields.get("version")),
            profile=self.text(fields.get("profile")),
            uncovered=uncovered,
        )

    def load_variables(self, node: Node | None) -> None:
        if node is None or (isinstance(node, ScalarNode) and node.tag == _NULL):
            return
        if not isinstance(node, MappingNode):
            self.error(node, None, "bad-variables", "section 'variables' must be a mapping")
            return
        for key, value in node.value:
            name = str(key.value) if isinstance(key, ScalarNode) else "?"
            if not name.startswith("$"):
                self.error(key, None, "bad-variable", f"variable '{name}' must start with '$'")
            elif not isinstance(value, ScalarNode):
                self.error(value, None, "bad-variable", f"variable '{name}' needs a string value")
            else:
                # An empty value (`$User:` in three stock policies) is the empty string.
                self.variables[name] = "" if value.tag == _NULL else str(value.value)
        self.substitute = self.dialect is Dialect.W5 and bool(self.variables)

    def load_requirements(
        self, node: Node | None, engine: RegexEngine
    ) -> RequirementsDefinition | None:
        if node is None:
            return None
        where = "requirements"
        if not isinstance(node, MappingNode):
            self.error(node, None, "bad-requirements", "section 'requirements' must be a mapping")
            return None
        fields = self.mapping(node)
        if self.dialect is Dialect.W4:
            # W4 accepts only `title` here, and a description (§1.2).
            title = self.required_text(fields, "title", where, node, None)
            description = self.required_text(fields, "description", where, node, None)
        else:
            title = self.text(fields.get("name") or fields.get("title"))
            description = self.text(fields.get("description"))
        condition = self.condition(fields.get("condition"), node, None)
        rules = self.load_rules(fields.get("rules"), node, None, engine, requirement=True)
        return RequirementsDefinition(title, description, condition, rules)

    def load_checks(
        self, node: Node | None, root: Node, engine: RegexEngine
    ) -> tuple[CheckDefinition, ...]:
        if node is None:
            self.error(root, None, "missing-checks", "section 'checks' is missing")
            return ()
        if not isinstance(node, SequenceNode):
            self.error(node, None, "bad-checks", "section 'checks' must be a list")
            return ()
        checks: list[CheckDefinition] = []
        seen: dict[str, int | None] = {}
        for item in node.value:
            if not isinstance(item, MappingNode):
                self.error(item, None, "bad-check", "a check must be a mapping")
                continue
            check = self.load_check(item, engine)
            if check is None:
                continue
            if check.id in seen:
                self.error(
                    item,
                    check.id,
                    "duplicate-check-id",
                    f"check id {check.id} is already used at line {seen[check.id]}",
                )
            else:
                seen[check.id] = check.line
            checks.append(check)
        return tuple(checks)

    def check_id(self, node: Node | None, anchor: Node) -> str | None:
        if node is None:
            self.error(anchor, None, "missing-id", "check has no 'id'")
            return None
        if isinstance(node, ScalarNode) and node.tag == _INT:
            number = _SCALARS.construct_yaml_int(node)
            if number > 0 or self.dialect is Dialect.W5:
                return str(number)
        elif (
            isinstance(node, ScalarNode)
            and node.tag == _STR
            and self.dialect is Dialect.W5
            and node.value.strip()
        ):
            return self.sub(node.value)
        kind = "a positive integer" if self.dialect is Dialect.W4 else "an integer or a string"
        self.error(node, None, "bad-id", f"check id {_show(node)} must be {kind}")
        return None

    def load_check(self, node: MappingNode, engine: RegexEngine) -> CheckDefinition | None:
        # The id as written names the check in messages about its keys, before it is checked.
        written = next((str(v.value) for k, v in node.value if k.value == "id"), None)
        fields = self.mapping(node, written)
        check_id = self.check_id(fields.get("id"), node)
        shown = check_id or f"at line {_line(node)}"
        if self.dialect is Dialect.W4 or ("title" in fields and "name" not in fields):
            title = self.required_text(fields, "title", f"check {shown}", node, check_id)
        else:
            title = self.required_text(fields, "name", f"check {shown}", node, check_id)
        condition = self.condition(fields.get("condition"), node, check_id)
        engine = self.regex_engine(fields.get("regex_type"), engine, check_id)
        rules = self.load_rules(fields.get("rules"), node, check_id, engine, requirement=False)
        level = self.level(fields.get("level"), check_id)
        profiles, profile_levels = self.profiles(fields.get("profile"), check_id)
        category = self.category(fields.get("category"), check_id)
        fix = load_fix(fields.get("fix"), lambda n, m: self.error(n, check_id, "bad-fix", m))
        if check_id is None:
            return None
        compliance = self.compliance(fields.get("compliance"), check_id)
        mitre = self.mitre(fields.get("mitre"), check_id)
        return CheckDefinition(
            id=check_id,
            title=title,
            condition=condition,
            rules=rules,
            description=self.text(fields.get("description")),
            rationale=self.text(fields.get("rationale")),
            remediation=self.text(fields.get("remediation")),
            impact=self.text(fields.get("impact")),
            references=self.strings(fields.get("references"), "references", check_id),
            compliance=with_techniques(compliance, mitre),
            mitre=mitre,
            regex_engine=engine,
            category=category,
            level=level,
            profiles=profiles,
            profile_levels=profile_levels,
            line=_line(node) or 0,
            fix=fix,
        )

    def load_rules(
        self,
        node: Node | None,
        anchor: Node,
        check: str | None,
        engine: RegexEngine,
        *,
        requirement: bool,
    ) -> tuple[RuleDefinition, ...]:
        where = "requirements" if requirement else f"check {check}"
        if node is None:
            self.error(anchor, check, "missing-rules", f"{where}: field 'rules' is missing")
            return ()
        if not isinstance(node, SequenceNode):
            self.error(node, check, "bad-rules", f"{where}: 'rules' must be a list")
            return ()
        if not requirement and not 1 <= len(node.value) <= MAX_RULES:
            self.error(node, check, "bad-rules", f"{where}: needs 1 to {MAX_RULES} rules")
        # W5 has substituted variables in the whole document already; W4 does it per location.
        variables = self.variables if self.dialect is Dialect.W4 else {}
        rules: list[RuleDefinition] = []
        for item in node.value:
            if not isinstance(item, ScalarNode) or item.tag != _STR:
                self.error(item, check, "bad-rule", f"{where}: rule {_show(item)} is not a string")
                continue
            text = self.sub(item.value)
            try:
                rule = parse_rule(
                    text, dialect=self.dialect, variables=variables, requirement=requirement
                )
            except RuleSyntaxError as exc:
                self.error(item, check, exc.code, f"{where}: {exc}", rule=text)
                continue
            rules.append(rule)
            prefix = "requirements: " if requirement else ""
            for found in lint_rule(rule, self.dialect, engine):
                self.warn(item, check, found.code, prefix + found.message, text, found.excerpt)
        return tuple(rules)

    def compliance(self, node: Node | None, check: str | None) -> dict[str, tuple[str, ...]]:
        """W4 `- key: [values]` list or W5 `key: [values]` map, into one map (values as text)."""
        result: dict[str, tuple[str, ...]] = {}
        if node is None or (isinstance(node, ScalarNode) and node.tag == _NULL):
            return result
        pairs: list[tuple[Node, Node]] = []
        if isinstance(node, MappingNode):
            pairs = list(node.value)
        elif isinstance(node, SequenceNode) and all(
            isinstance(item, MappingNode) for item in node.value
        ):
            pairs = [pair for item in node.value for pair in item.value]
        else:
            self.warn(node, check, "bad-compliance", "compliance must be a map or a list of maps")
        for key, value in pairs:
            name = str(key.value)
            result[name] = result.get(name, ()) + self.strings(value, f"compliance {name}", check)
        return result

    def mitre(self, node: Node | None, check: str | None) -> dict[str, tuple[str, ...]]:
        """W5 `mitre: {tactic: {id: [..], name: [..]}, ...}` as `tactic.id`, `tactic.name`..."""
        result: dict[str, tuple[str, ...]] = {}
        if node is None:
            return result
        if not isinstance(node, MappingNode):
            self.warn(node, check, "bad-mitre", "mitre must be a map")
            return result
        for key, value in node.value:
            if isinstance(value, MappingNode):
                for sub_key, sub_value in value.value:
                    name = f"{key.value}.{sub_key.value}"
                    result[name] = self.strings(sub_value, f"mitre {name}", check)
            else:
                result[str(key.value)] = self.strings(value, f"mitre {key.value}", check)
        return result

    def level(self, node: Node | None, check: str | None) -> int | None:
        if node is None:
            return None
        if isinstance(node, ScalarNode) and node.tag == _INT:
            value = _SCALARS.construct_yaml_int(node)
            if value in (1, 2):
                return int(value)
        self.error(node, check, "bad-level", f"level {_show(node)} must be 1 or 2")
        return None

    def profiles(
        self, node: Node | None, check: str | None
    ) -> tuple[tuple[str, ...], tuple[tuple[str, int], ...]]:
        """`profile: server`, `profile: [server, workstation]`, or with the check's level in
        each profile, `profile: {server: 1, workstation: 2}`; absent: every profile. Returns
        the names and, for the mapping, (name, level) pairs."""
        if node is None:
            return (), ()
        shown = ", ".join(PROFILES)
        if isinstance(node, MappingNode):
            pairs = []
            for key, value in node.value:
                name = key.value if isinstance(key, ScalarNode) else None
                if name not in PROFILES:
                    self.error(
                        key, check, "bad-profile", f"profile {_show(key)} must be one of {shown}"
                    )
                    return (), ()
                level = self.level(value, check)
                if level is None:
                    return (), ()
                pairs.append((str(name), level))
            if not pairs:
                self.error(node, check, "bad-profile", f"profile {_show(node)} names no profile")
            return tuple(name for name, _ in pairs), tuple(pairs)
        names = self.strings(node, "profile", check)
        bad = [name for name in names if name not in PROFILES]
        if bad or not names:
            self.error(node, check, "bad-profile", f"profile {_show(node)} must be one of {shown}")
            return (), ()
        return names, ()

    def category(self, node: Node | None, check: str | None) -> str | None:
        if node is None:
            return None
        if isinstance(node, ScalarNode) and node.tag == _STR and node.value.strip():
            return self.sub(node.value)
        self.error(node, check, "bad-category", f"category {_show(node)} must be a string")
        return None


def _flat(node: Node) -> str:
    """Text for a list item that should have been a string, e.g. `- Docs: https://...`."""
    if isinstance(node, ScalarNode):
        return str(node.value)
    if isinstance(node, MappingNode):
        return ", ".join(f"{_flat(key)}: {_flat(value)}" for key, value in node.value)
    return ", ".join(_flat(item) for item in node.value)


def _show(node: Node) -> str:
    if isinstance(node, ScalarNode):
        return repr(node.value)
    return "a list" if isinstance(node, SequenceNode) else "a mapping"
