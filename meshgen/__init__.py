"""meshgen: one declarative intent file in, service-mesh manifests out.

Public API: :func:`load_intent`, :func:`render`, :data:`PLATFORMS`, and the errors. They are
imported on first use (PEP 562 ``__getattr__``), so ``import meshgen`` and ``meshgen --help`` do
not pay for pydantic, Jinja and the platforms.
"""

from __future__ import annotations

import sys
import types
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


class _Package(types.ModuleType):
    """``meshgen.render`` is the function :func:`meshgen.pipeline.render`, imported on first use.

    A plain lazy name would lose to the submodule of the same name (``meshgen/render.py``): the
    import system binds a submodule on its package once it is loaded. A data descriptor on the
    module's class takes precedence over that binding, which it ignores.
    """

    @property
    def render(self) -> Any:
        from meshgen.pipeline import render

        return render

    @render.setter
    def render(self, _submodule: Any) -> None:
        pass  # the submodule stays reachable as sys.modules["meshgen.render"]


sys.modules[__name__].__class__ = _Package

__all__ = ["DISTRIBUTION", "__version__", "render", *sorted(_LAZY)]
