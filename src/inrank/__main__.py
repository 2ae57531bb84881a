"""``python -m inrank``: the ``inrank`` command (the same as ``python -m inrank.cli``)."""
import sys

from .cli.main import main

if __name__ == "__main__":
    sys.exit(main())
