"""Loading policy files into the catalogue: all or nothing, refused with file:line messages.

Files are validated by the engine's load_policy; nothing is written unless every file loads.
Checks keep their rows across syncs (results point at them); a check gone from its file is
retired, a bundled policy gone from rulesets/ is disabled.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import transaction

from bulwark.core import seclog
from bulwark.policies.models import Check, Policy
from workers.engine.categories import category_of
from workers.engine.definitions import CheckDefinition, PolicyDefinition
from workers.engine.policy import find_cross_policy_duplicates, load_policy_text
from workers.engine.yaml_bounds import check_bounds

_CHECK_FIELDS = [
    "title",
    "description",
    "rationale",
    "remediation",
    "impact",
    "references",
    "compliance",
    "mitre",
    "category",
    "level",
    "profiles",
    "condition",
    "rules",
    "line",
    "active",
]


class PolicyRefused(Exception):
    """One or more policy files are invalid: nothing was imported. `problems` are file:line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(f"{len(problems)} problem(s); nothing imported")
        self.problems = problems


@dataclass
class LoadedFile:
    definition: PolicyDefinition
    source: str
    warnings: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    """What a sync or an import changed."""

    policies: list[str] = field(default_factory=list)
    checks_created: int = 0
    checks_updated: int = 0
    checks_retired: int = 0
    disabled: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def policy_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file())


def display_path(path: Path) -> str:
    """The path as messages show it: relative to the project when inside it."""
    try:
        return str(path.resolve().relative_to(Path(settings.BASE_DIR).resolve()))
    except ValueError:
        return str(path)


def load_files(paths: Iterable[Path]) -> list[LoadedFile]:
    """Load and validate every file; raise PolicyRefused listing every error of every file."""
    sources: list[tuple[str, str]] = []
    problems: list[str] = []
    for path in paths:
        shown = display_path(path)
        try:
            sources.append((shown, path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"{shown}: unreadable: {exc}")
    return load_sources(sources, problems)


def load_sources(
    sources: Iterable[tuple[str, str]], problems: list[str] | None = None
) -> list[LoadedFile]:
    """Validate (name, YAML text) pairs; raise PolicyRefused listing every error of every one,
    each as name:line."""
    loaded: list[LoadedFile] = []
    problems = list(problems or [])
    for shown, source in sources:
        # Uploaded text is bounded before libyaml composes it (deep nesting crashes the
        # composer, aliases of aliases expand without limit, NUL cannot be stored).
        bounds = check_bounds(source)
        if bounds is not None:
            where = f"{shown}:{bounds.line}" if bounds.line else shown
            problems.append(f"{where}: {bounds.message}")
            continue
        result = load_policy_text(source, shown)
        problems += [str(p) for p in result.errors]
        if result.policy is not None:
            loaded.append(LoadedFile(result.policy, source, [str(w) for w in result.warnings]))
    duplicates = [
        p
        for p in find_cross_policy_duplicates(f.definition for f in loaded)
        if p.code == "duplicate-policy-id"
    ]
    problems += [str(p) for p in duplicates]
    if problems:
        raise PolicyRefused(problems)
    return loaded


# The bundled files as last loaded, while none of them changed (path, size, modification
# time): each sync of the same bytes would parse and lint 1,800 checks again (seconds), and the
# workers' start, the admin's "sync" and every test of the catalogue sync them.
_LAST_LOADED: dict[tuple[tuple[str, int, int], ...], list[LoadedFile]] = {}


def _load_bundled(files: list[Path]) -> list[LoadedFile]:
    stats = [(str(path), path.stat()) for path in files]
    key = tuple((name, stat.st_size, stat.st_mtime_ns) for name, stat in stats)
    if key not in _LAST_LOADED:
        loaded = load_files(files)  # raises on a bad file: nothing is kept then
        _LAST_LOADED.clear()
        _LAST_LOADED[key] = loaded
    return list(_LAST_LOADED[key])


def sync_rulesets(root: Path | None = None) -> ImportReport:
    """Mirror every policy under rulesets/ into the catalogue, in one transaction."""
    root = Path(root or settings.RULESETS_DIR)
    files = policy_files(root)
    if not files:
        raise PolicyRefused([f"{display_path(root)}: no policy files found"])
    loaded = _load_bundled(files)
    ids = {f.definition.id for f in loaded}
    imported = set(
        Policy.objects.filter(policy_id__in=ids, origin=Policy.Origin.IMPORTED).values_list(
            "policy_id", flat=True
        )
    )
    if imported:
        raise PolicyRefused(
            [f"policy id {pid} is used by an imported policy; delete it first" for pid in imported]
        )
    report = ImportReport()
    with transaction.atomic():
        for item in loaded:
            _save(item, Policy.Origin.BUNDLED, report)
        gone = Policy.objects.filter(origin=Policy.Origin.BUNDLED, enabled=True).exclude(
            policy_id__in=ids
        )
        report.disabled = list(gone.values_list("policy_id", flat=True))
        gone.update(enabled=False)
    return report


def import_policies(paths: Sequence[Path]) -> ImportReport:
    """Import user policy files (all or none). A bundled policy's id cannot be taken over."""
    files = [str(path) for path in paths]
    try:
        report = _import(load_files(paths))
    except PolicyRefused:
        seclog.record("policy.import_refused", detail={"files": files})
        raise
    seclog.record("policy.imported", ", ".join(report.policies)[:255], detail={"files": files})
    return report


def import_policy_texts(sources: Sequence[tuple[str, str]]) -> ImportReport:
    """Import user policies given as (file name, YAML text), as uploaded (all or none)."""
    try:
        report = _import(load_sources(sources))
    except PolicyRefused as exc:
        seclog.record("policy.import_refused", detail={"files": [n for n, _ in sources]})
        raise exc from None
    seclog.record("policy.imported", ", ".join(report.policies)[:255])
    return report


def _import(loaded: list[LoadedFile]) -> ImportReport:
    ids = {f.definition.id: f.definition.path for f in loaded}
    taken = Policy.objects.filter(policy_id__in=ids, origin=Policy.Origin.BUNDLED)
    problems = [
        f"{ids[pid]}: policy id {pid} is a bundled policy's"
        for pid in taken.values_list("policy_id", flat=True)
    ]
    if problems:
        raise PolicyRefused(problems)
    report = ImportReport()
    with transaction.atomic():
        for item in loaded:
            _save(item, Policy.Origin.IMPORTED, report)
    return report


def _save(item: LoadedFile, origin: str, report: ImportReport) -> None:
    definition = item.definition
    requirements = definition.requirements
    policy, _ = Policy.objects.update_or_create(
        policy_id=definition.id,
        defaults={
            "name": definition.name,
            "description": definition.description,
            "path": definition.path,
            "origin": origin,
            "dialect": definition.dialect.value,
            "source": item.source,
            "sha256": hashlib.sha256(item.source.encode()).hexdigest(),
            "references": list(definition.references),
            "requirements": requirements.title if requirements else "",
            "enabled": True,
            "check_count": len(definition.checks),
        },
    )
    existing = {c.check_id: c for c in Check.objects.filter(policy=policy)}
    create, update = [], []
    for check in definition.checks:
        values = _check_values(check)
        row = existing.pop(check.id, None)
        if row is None:
            create.append(Check(policy=policy, check_id=check.id, **values))
        elif any(getattr(row, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(row, name, value)
            update.append(row)
    retired = [row for row in existing.values() if row.active]
    for row in retired:
        row.active = False
    Check.objects.bulk_create(create, batch_size=500)
    Check.objects.bulk_update(update + retired, _CHECK_FIELDS, batch_size=500)
    report.policies.append(definition.id)
    report.checks_created += len(create)
    report.checks_updated += len(update)
    report.checks_retired += len(retired)
    report.warnings += item.warnings


def _check_values(check: CheckDefinition) -> dict[str, object]:
    return {
        "title": check.title[:500],
        "description": check.description,
        "rationale": check.rationale,
        "remediation": check.remediation,
        "impact": check.impact,
        "references": list(check.references),
        "compliance": {k: list(v) for k, v in check.compliance.items()},
        "mitre": {k: list(v) for k, v in check.mitre.items()},
        "category": category_of(check)[:200],
        "level": check.level,
        # A mapping when the policy gives the level per profile (admits() reads either).
        "profiles": dict(check.profile_levels) or list(check.profiles),
        "condition": check.condition.value,
        "rules": [rule.raw for rule in check.rules],
        "line": check.line,
        "active": True,
    }


# -- what audits run ----------------------------------------------------------------------------

_definitions: dict[tuple[str, str], PolicyDefinition] = {}
_definitions_lock = threading.Lock()


def enabled_definitions() -> list[PolicyDefinition]:
    """The enabled policies, parsed from their stored source (cached per content hash)."""
    result = []
    for policy in Policy.objects.filter(enabled=True).only("policy_id", "path", "sha256"):
        key = (policy.policy_id, policy.sha256)
        with _definitions_lock:
            definition = _definitions.get(key)
        if definition is None:
            source = Policy.objects.values_list("source", flat=True).get(pk=policy.pk)
            loaded = load_policy_text(source, policy.path)
            if loaded.policy is None:
                raise PolicyRefused([str(p) for p in loaded.errors])
            definition = loaded.policy
            with _definitions_lock:
                _definitions[key] = definition
        result.append(definition)
    return result
