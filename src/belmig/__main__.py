"""``python -m belmig <command>``: the same commands as ``belmig`` (:mod:`belmig.cli`)."""

import sys

from belmig.cli import main

main(sys.argv[1:])
