#!/usr/bin/env python3
"""Django's command line for Bulwark. `platform/` is a source root, not a package: it goes on
sys.path (after the standard library, so `import platform` stays the stdlib module)."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def main() -> None:
    sys.path.append(str(ROOT / "platform"))
    sys.path.insert(0, str(ROOT))  # for `workers`
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bulwark.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
