"""python -m crossbuf: see crossbuf.cli."""

import sys

from .cli import main

sys.exit(main())
