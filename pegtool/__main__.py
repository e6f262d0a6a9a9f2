"""``python -m pegtool`` runs the command line."""

import sys

from pegtool.cli import main

sys.exit(main())
