"""The no-mesh baseline (Kubernetes NetworkPolicy, Gateway API, cert-manager) as a target: see :mod:`.platform`."""

from meshgen.platforms.kubernetes.platform import KubernetesPlatform

PLATFORM = KubernetesPlatform()

__all__ = ["PLATFORM", "KubernetesPlatform"]
