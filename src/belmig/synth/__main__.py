"""``python -m belmig.synth --out PATH ...``: write the SYNTHETIC raw export."""

from belmig.synth.cli import main

main()
