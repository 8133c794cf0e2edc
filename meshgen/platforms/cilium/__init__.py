"""Cilium as a meshgen target: see :mod:`.platform`."""

from meshgen.platforms.cilium.platform import CiliumPlatform

PLATFORM = CiliumPlatform()

__all__ = ["PLATFORM", "CiliumPlatform"]
