"""Istio ambient mode as a meshgen target: see :mod:`.platform`."""

from meshgen.platforms.istio_ambient.platform import IstioAmbientPlatform

PLATFORM = IstioAmbientPlatform()

__all__ = ["PLATFORM", "IstioAmbientPlatform"]
