"""``python -m runners.cli``: the ``podium`` command."""
import sys

from runners.cli import main

sys.exit(main())
