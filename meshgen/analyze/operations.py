"""MG3xx: operations (control-plane availability, certificate rotation and lifetimes)."""

from __future__ import annotations

from collections.abc import Iterator

from meshgen.analyze.graph import CallGraph
from meshgen.analyze.registry import Finding, Severity, analyzer
from meshgen.intent.types import Duration


@analyzer("MG301", "single-control-plane-replica", "One control-plane replica: a single point of failure.")
def single_control_plane_replica(graph: CallGraph) -> Iterator[Finding]:
    """istiod, the Linkerd destination/identity controllers and the Cilium operator hand out config and
    certificates: with one replica, a node drain stops new pods from joining the mesh."""
    cp = graph.intent.spec.mesh.control_plane
    if cp.replicas == 1:
        yield Finding(
            "MG301",
            Severity.warning,
            "controlPlane.replicas is 1: a node drain or crash stops certificate issuing and config pushes; use replicas: 2 or more",
            ("spec", "mesh", "controlPlane", "replicas"),
        )


@analyzer("MG302", "unrotated-ca", "A mesh CA that nothing rotates (e.g. Linkerd with ca.type: mesh).")
def unrotated_ca(graph: CallGraph) -> Iterator[Finding]:
    """The platform's own CA when the platform says nothing rotates it (``Platform.unrotated_mesh_ca``;
    Linkerd: https://linkerd.io/2.19/tasks/automatically-rotating-control-plane-tls-credentials/)."""
    from meshgen.platforms import get_platform

    spec = graph.intent.spec
    target = graph.platform or spec.platform
    why = get_platform(target).unrotated_mesh_ca
    if why and spec.mesh.ca.type == "mesh":
        yield Finding(
            "MG302",
            Severity.warning,
            f"ca.type: mesh on {target}: {why}; they expire after {spec.mesh.ca.issuer_lifetime} "
            "and then every meshed connection fails. Use ca.type: cert-manager",
            ("spec", "mesh", "ca", "type"),
        )


@analyzer("MG303", "certificate-outlives-issuer", "A certificate issued just before its issuer renews outlives it.")
def certificate_outlives_issuer(graph: CallGraph) -> Iterator[Finding]:
    """cert-manager renews the issuer ``renewBefore`` ahead of expiry (default: a third of its lifetime,
    as meshgen renders it); a workload certificate signed just before may outlive the old issuer."""
    ca = graph.intent.spec.mesh.ca
    if ca.type not in ("cert-manager", "vault"):
        return
    issuer_renew = ca.renew_before if ca.renew_before is not None else Duration(ca.issuer_lifetime // 3)
    root_renew = ca.renew_before if ca.renew_before is not None else Duration(ca.root_lifetime // 3)
    if ca.cert_lifetime > issuer_renew:
        yield Finding(
            "MG303",
            Severity.warning,
            f"certLifetime {ca.cert_lifetime} is longer than the issuer's renewBefore {issuer_renew}: a workload "
            "certificate signed just before the issuer renews outlives it. Shorten certLifetime or raise renewBefore",
            ("spec", "mesh", "ca", "certLifetime"),
        )
    if ca.issuer_lifetime > root_renew:
        yield Finding(
            "MG303",
            Severity.warning,
            f"issuerLifetime {ca.issuer_lifetime} is longer than the root's renewBefore {root_renew}: an issuer signed "
            "just before the root renews outlives it. Shorten issuerLifetime or raise renewBefore",
            ("spec", "mesh", "ca", "issuerLifetime"),
        )
