"""``python -m meshgen``."""

from meshgen.cli import main

main()
