"""Consul service mesh (consul-k8s 2.0, Consul CE): see :mod:`meshgen.platforms.consul.platform`."""

from meshgen.platforms.consul.platform import ConsulPlatform

PLATFORM = ConsulPlatform()

__all__ = ["PLATFORM", "ConsulPlatform"]
