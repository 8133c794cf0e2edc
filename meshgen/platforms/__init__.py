"""Target platforms: one package each, registered in :mod:`meshgen.platforms.registry`."""

from __future__ import annotations

from typing import Iterator, Mapping

from meshgen.platforms.base import Plan, PlannedFile, PlannedObject, Platform
from meshgen.platforms.registry import all_platforms, get_platform, matrix, names


class _Registered(Mapping[str, Platform]):
    """Every registered platform by name, imported on first access (keeps ``import meshgen`` cheap)."""

    def __getitem__(self, name: str) -> Platform:
        return all_platforms()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(all_platforms())

    def __len__(self) -> int:
        return len(all_platforms())

    def __repr__(self) -> str:
        return f"PLATFORMS({', '.join(self)})"


#: name -> Platform, in registry order (a read-only view of :func:`registry.all_platforms`).
PLATFORMS: Mapping[str, Platform] = _Registered()

__all__ = ["PLATFORMS", "Plan", "PlannedFile", "PlannedObject", "Platform", "all_platforms", "get_platform", "matrix", "names"]
