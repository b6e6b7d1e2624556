"""``python -m plasmite ...`` runs the CLI, like the ``plasmite`` script."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
