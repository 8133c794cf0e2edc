"""The registry of target platforms: one explicit map, unknown names fail loudly."""

from __future__ import annotations

from typing import Mapping

from meshgen.errors import UnknownPlatformError
from meshgen.platforms.base import Plan, PlannedFile, PlannedObject, Platform
from meshgen.platforms.cilium import CiliumPlatform
from meshgen.platforms.istio import IstioPlatform
from meshgen.platforms.linkerd import LinkerdPlatform

PLATFORMS: Mapping[str, Platform] = {p.name: p for p in (IstioPlatform(), LinkerdPlatform(), CiliumPlatform())}


def get_platform(name: str) -> Platform:
    """The platform registered as ``name``.

    Raises:
        UnknownPlatformError: naming the known platforms.
    """
    try:
        return PLATFORMS[name]
    except KeyError:
        known = ", ".join(sorted(PLATFORMS))
        raise UnknownPlatformError(f"unknown platform {name!r}; known: {known}") from None


__all__ = ["PLATFORMS", "Plan", "PlannedFile", "PlannedObject", "Platform", "get_platform"]
