"""Linkerd as a meshgen target: see :mod:`.platform`."""

from meshgen.platforms.linkerd.platform import LinkerdPlatform

PLATFORM = LinkerdPlatform()

__all__ = ["PLATFORM", "LinkerdPlatform"]
