"""Moved to :mod:`meshgen.kube.cel` and :mod:`meshgen.kube.names` (kept for older imports)."""

from meshgen.kube.cel import *  # noqa: F403
from meshgen.kube.cel import __all__  # noqa: F401
