"""Validate Kubernetes objects as an API server with the CRDs installed would, offline.

- :mod:`meshgen.kube.catalog`: :class:`CRDCatalog` (the served kinds: meshgen's bundled CRDs, or a
  directory of a cluster's own) and :func:`validate_objects`;
- :mod:`meshgen.kube.structural`: structural-schema checks on jsonschema (``validators.extend``);
- :mod:`meshgen.kube.rules` and :mod:`meshgen.kube.cel`: ``x-kubernetes-validations`` CEL rules;
- :mod:`meshgen.kube.core`: ObjectMeta and the built-in kinds; :mod:`meshgen.kube.names`: name rules;
- :mod:`meshgen.kube.bundled`: which CRDs ship inside meshgen, and how the bundle is rebuilt.

Rendering does not need any of this. The libraries it uses (jsonschema, cel-python, google-re2,
kubernetes-validate) come with the ``validate`` extra: ``pip install 'meshgen-intent[validate]'``.
Importing a name from here without them raises :class:`MissingValidationExtra`, which says so.
"""

from __future__ import annotations

from typing import Any

from meshgen.errors import EXIT_USAGE, MeshgenError

__all__ = ["CRDCatalog", "CRDLoadError", "MissingValidationExtra", "SchemaViolation", "validate_objects"]

#: Import name -> distribution, of what validation needs beyond what rendering needs.
VALIDATION_DEPENDENCIES = {
    "jsonschema": "jsonschema",
    "celpy": "cel-python",
    "re2": "google-re2",
    "kubernetes_validate": "kubernetes-validate",
}


class MissingValidationExtra(MeshgenError):
    """A library that CRD validation needs is not installed (the ``validate`` extra)."""

    exit_code = EXIT_USAGE


def missing_extra_message(missing: str) -> str:
    """What to tell a user whose installation lacks ``missing`` (an import name)."""
    from meshgen import DISTRIBUTION, __version__

    return (
        f"checking objects against CRDs needs {VALIDATION_DEPENDENCIES.get(missing, missing)}, which is not "
        f"installed; install the validation extra: pip install '{DISTRIBUTION}[validate]=={__version__}' "
        "(or pass --no-crds to check the intent only)"
    )


def __getattr__(name: str) -> Any:
    if name not in {"CRDCatalog", "CRDLoadError", "SchemaViolation", "validate_objects"}:
        raise AttributeError(f"module 'meshgen.kube' has no attribute {name!r}")
    try:
        from meshgen.kube import catalog
    except ModuleNotFoundError as err:
        if err.name in VALIDATION_DEPENDENCIES:
            raise MissingValidationExtra(missing_extra_message(err.name)) from None
        raise
    value = getattr(catalog, name)
    globals()[name] = value
    return value
