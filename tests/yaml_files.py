"""Reading the tests' own YAML (scenario files, machine specs, reference controls) with libyaml.

The scenario files are read at collection time by every pytest process; PyYAML's pure-Python
loader took about 4 s of each collection for them, libyaml's takes a tenth of that. The result is
the same (both are safe loaders); without libyaml it falls back to the Python one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Path) -> Any:
    """The document in the UTF-8 file at path."""
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)  # noqa: S506 (safe loader)
