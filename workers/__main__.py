"""`python -m workers ...`: the audit runtime's command line (see workers/cli/)."""

from workers.cli import main

raise SystemExit(main())
