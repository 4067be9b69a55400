"""``python -m mpm_core`` runs the CLI."""

import sys

from mpm_core.cli import main

sys.exit(main())
