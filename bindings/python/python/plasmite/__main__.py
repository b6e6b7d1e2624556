"""``python -m plasmite ...`` runs the CLI, like the ``plasmite`` script."""

import sys

from .cli import main

sys.exit(main())
