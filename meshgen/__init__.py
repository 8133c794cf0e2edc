"""meshgen: one declarative intent file in, service-mesh manifests out.

Public API: :func:`load_intent`, :func:`render`, :data:`PLATFORMS`, and the errors.
"""

from meshgen.errors import IntentError, IntentLossError, MeshgenError, OutputError, UnknownPlatformError
from meshgen.loader import load_intent
from meshgen.pipeline import render
from meshgen.platforms import PLATFORMS, get_platform

__all__ = [
    "PLATFORMS",
    "IntentError",
    "IntentLossError",
    "MeshgenError",
    "OutputError",
    "UnknownPlatformError",
    "get_platform",
    "load_intent",
    "render",
]
