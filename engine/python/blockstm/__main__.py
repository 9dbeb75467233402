"""``python -m blockstm``: the ``blockstm`` command (blockstm/cli.py)."""

import sys

from .cli import main

if __name__ == "__main__":  # not when a spawned worker re-imports the main module
    sys.exit(main())
