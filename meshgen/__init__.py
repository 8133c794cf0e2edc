"""meshgen: one declarative intent file in, service-mesh manifests out.

Public API: :func:`load_intent`, :func:`render`, :data:`PLATFORMS`, and the errors. They are
imported on first use (PEP 562 ``__getattr__``), so ``import meshgen`` and ``meshgen --help`` do
not pay for pydantic, Jinja and the platforms.
"""

from __future__ import annotations

from typing import Any

#: The release; the one place it is written (pyproject.toml reads it through hatch's version source).
__version__ = "0.2.0"
#: The distribution name on the Python package index. ``meshgen`` there is an unrelated project, so
#: meshgen is published as ``meshgen-intent``; the import package and the command stay ``meshgen``.
DISTRIBUTION = "meshgen-intent"

_LAZY = {
    "IntentError": "meshgen.errors",
    "IntentLossError": "meshgen.errors",
    "MeshgenError": "meshgen.errors",
    "OutputError": "meshgen.errors",
    "UnknownPlatformError": "meshgen.errors",
    "load_intent": "meshgen.loader",
    "render": "meshgen.pipeline",
    "PLATFORMS": "meshgen.platforms",
    "get_platform": "meshgen.platforms",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'meshgen' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = ["DISTRIBUTION", "__version__", *sorted(_LAZY)]
