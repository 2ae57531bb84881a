"""``python -m inrank.cli``: the ``inrank`` command."""
import sys

from .main import main

sys.exit(main())
