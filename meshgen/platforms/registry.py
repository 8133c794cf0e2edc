"""The one list of target platforms; everything else that names platforms derives from it.

Adding a platform = its package under ``meshgen/platforms/`` (exporting ``PLATFORM``), its
``templates/<name>/`` folder, and one line in :data:`PACKAGES`. The capability matrix, the
``spec.platform`` validation and JSON Schema enum, the CLI's choices and help, ``meshgen
platforms`` and the README tables are all computed from here. An unknown name is always an error.
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import Mapping, Sequence

from meshgen.capabilities import Capability, Feature, cell
from meshgen.errors import UnknownPlatformError
from meshgen.platforms.base import Platform

#: Platform packages, in the order ``meshgen platforms`` and the README list them. A platform's
#: name is its package's with ``-`` for ``_`` (``istio_ambient`` -> ``istio-ambient``), so names
#: are known without importing any platform (``--help`` stays fast).
PACKAGES: tuple[str, ...] = (
    "istio",
    "istio_ambient",
    "linkerd",
    "cilium",
    "consul",
    "kubernetes",
)

#: The target of an intent whose spec.platform is not set, and of ``meshgen init``.
DEFAULT = "istio"


@cache
def all_platforms() -> Mapping[str, Platform]:
    """Every registered platform by name, in :data:`PACKAGES` order (imported on first use)."""
    return {_name(package): _imported(package) for package in PACKAGES}


@cache
def _imported(package: str) -> Platform:
    """The ``PLATFORM`` of ``meshgen.platforms.<package>``, imported on first use; its name checked."""
    platform = importlib.import_module(f"meshgen.platforms.{package}").PLATFORM
    if platform.name != _name(package):
        raise AssertionError(f"package {package} must be named {_name(package)!r}, not {platform.name!r}")
    return platform


def _name(package: str) -> str:
    return package.replace("_", "-")


def names() -> tuple[str, ...]:
    """The registered platform names (CLI values), in registry order; imports no platform."""
    return tuple(_name(p) for p in PACKAGES)


def get_platform(name: str) -> Platform:
    """The platform registered as ``name``.

    Raises:
        UnknownPlatformError: naming the known platforms.
    """
    if name not in names():
        raise UnknownPlatformError(f"unknown platform {name!r}; known: {', '.join(names())}")
    package = name.replace("-", "_")
    if package in PACKAGES:
        # Only this platform's package: a render for one platform need not import the other five
        # (about 40 ms of CPU, issue 17).
        return _imported(package)
    return all_platforms()[name]  # a platform registered another way (tests add one)


def matrix() -> dict[Feature, dict[str, Capability]]:
    """The capability matrix: feature -> platform name -> capability, from every platform's column,
    with the protocols where support differs (:func:`meshgen.capabilities.cell`).

    Raises:
        AssertionError: a platform's column lacks a feature (the contract test names it first).
    """
    platforms = all_platforms()
    out: dict[Feature, dict[str, Capability]] = {}
    for feature in Feature:
        row = {}
        for name, platform in platforms.items():
            if feature not in platform.capabilities:
                raise AssertionError(f"platform {name!r} has no capability for {feature.value}")
            row[name] = cell(feature, platform.capabilities[feature])
        out[feature] = row
    return out


def get_importer(name: str):
    """The importer of platform ``name`` (its package's ``importer`` module's ``IMPORTER``, see
    :class:`meshgen.importing.model.Importer`), or None when the platform has none.

    Raises:
        UnknownPlatformError: ``name`` is not registered.
    """
    get_platform(name)
    package = PACKAGES[names().index(name)]
    try:
        module = importlib.import_module(f"meshgen.platforms.{package}.importer")
    except ModuleNotFoundError as exc:
        if exc.name != f"meshgen.platforms.{package}.importer":
            raise
        return None
    return module.IMPORTER


def guess_importer(groups: set[str], objects: Sequence = ()) -> str | None:
    """The platform whose importer claims one of these API ``groups``: of those that do, the
    first (registry order) whose optional ``recognizes(objects)`` is true, else the first without
    ``recognizes`` (else the first; None when no importer claims a group). Istio ambient shares sidecar Istio's groups and recognizes its waypoints, so
    ambient output is guessed as ``istio-ambient`` and the rest as ``istio``.

    Args:
        groups: API groups of the objects read.
        objects: the objects (:class:`meshgen.importing.reader.SourceObject`), for ``recognizes``.
    """
    claimed = [(name, importer) for name in names() if (importer := get_importer(name)) is not None and groups & importer.groups]
    for name, importer in claimed:
        recognizes = getattr(importer, "recognizes", None)
        if recognizes is not None and recognizes(objects):
            return name
    fallback = claimed[0][0] if claimed else None
    return next((name for name, importer in claimed if getattr(importer, "recognizes", None) is None), fallback)
