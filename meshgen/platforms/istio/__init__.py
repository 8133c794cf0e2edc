"""Istio as a meshgen target: see :mod:`.platform`."""

from meshgen.platforms.istio.platform import IstioPlatform

PLATFORM = IstioPlatform()

__all__ = ["PLATFORM", "IstioPlatform"]
