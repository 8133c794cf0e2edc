"""Shared cert-manager and trust-manager pieces of every platform's identity planning.

A platform's certificates module builds its chain from these: :func:`root_chain` (a self-signed
root, or the intent's ``issuerRef``, and the ClusterIssuer that signs below it), :func:`certificate`
(an ECDSA P-256 CA Certificate with ``rotationPolicy: Always``), and the expiry watches the alerts
planner turns into rules. Lifetimes come from ``spec.mesh.ca`` (:class:`Lifetimes`: Go durations,
``renewBefore`` defaulting to a third of each lifetime).
Sources: https://cert-manager.io/docs/reference/api-docs/ (Certificate, Issuer, ClusterIssuer),
https://cert-manager.io/docs/trust/trust-manager/ (Bundle), ../shared/crds/cert-manager.
"""

from __future__ import annotations

from dataclasses import dataclass

from meshgen.capabilities import Feature
from meshgen.intent.model import MeshIntent
from meshgen.intent.types import Duration
from meshgen.platforms.base import PlannedObject
from meshgen.platforms.sections import DAY_S, ExpiryWatch, duration_text, human_seconds

CERT_MANAGER = "cert-manager.io/v1"


TRUST = "trust.cert-manager.io/v1alpha1"


#: Key usages of a CA certificate.
CA_USAGES = ["digital signature", "cert sign", "crl sign"]


@dataclass(frozen=True)
class Lifetimes:
    """The intent's certificate chain, with renewBefore resolved (default: a third of each lifetime)."""

    cert: Duration
    issuer: Duration
    root: Duration
    issuer_renew: Duration
    root_renew: Duration

    @classmethod
    def of(cls, intent: MeshIntent) -> Lifetimes:
        """Resolve ``spec.mesh.ca``'s lifetimes."""
        ca = intent.spec.mesh.ca
        issuer_renew = ca.renew_before if ca.renew_before is not None else Duration(ca.issuer_lifetime // 3)
        root_renew = ca.renew_before if ca.renew_before is not None else Duration(ca.root_lifetime // 3)
        return cls(ca.cert_lifetime, ca.issuer_lifetime, ca.root_lifetime, issuer_renew, root_renew)


def issuer_ref(kind: str, name: str, group: str = "cert-manager.io") -> dict[str, str]:
    return {"group": group, "kind": kind, "name": name}


def certificate(
    name: str,
    namespace: str,
    labels: dict[str, str],
    *,
    common_name: str,
    duration: Duration,
    renew_before: Duration,
    issuer: dict[str, str],
    usages: list[str],
    dns_names: list[str] | None = None,
    organizations: list[str] | None = None,
) -> PlannedObject:
    return PlannedObject(
        "cert-manager/certificate.yaml.j2",
        CERT_MANAGER,
        "Certificate",
        name,
        namespace,
        {
            "labels": labels,
            "secret_name": name,
            "is_ca": True,
            "common_name": common_name,
            "dns_names": dns_names or [],
            "organizations": organizations or [],
            "duration": duration_text(duration.ms),
            "renew_before": duration_text(renew_before.ms),
            # ECDSA P-256: the only key Linkerd accepts, and smaller and faster for Istio too.
            "algorithm": "ECDSA",
            "size": 256,
            # cert-manager defaulted to Never before 1.18: say it, so a renewal also rotates the key.
            "rotation_policy": "Always",
            "usages": usages,
            "issuer": issuer,
        },
    )


@dataclass(frozen=True)
class Root:
    """The trust root of a cert-manager chain: objects to emit and the issuer that signs below it."""

    objects: tuple[PlannedObject, ...]
    signer: dict[str, str]
    secret: str | None  # the root's Secret in ca.caNamespace, None when the intent's issuerRef is the root
    watches: tuple[ExpiryWatch, ...]


def root_chain(
    intent: MeshIntent,
    labels: dict[str, str],
    *,
    selfsigned: str,
    root: str,
    cluster_issuer: str,
    common_name: str,
    what: str,
) -> Root:
    ca = intent.spec.mesh.ca
    if ca.issuer_ref is not None:
        ref = ca.issuer_ref
        return Root((), issuer_ref(ref.kind, ref.name, ref.group), None, ())
    life = Lifetimes.of(intent)
    ns = ca.ca_namespace
    objects = (
        PlannedObject(
            "cert-manager/issuer.yaml.j2", CERT_MANAGER, "Issuer", selfsigned, ns, {"labels": labels, "ca_secret": None}
        ),
        certificate(
            root,
            ns,
            labels,
            common_name=common_name,
            duration=life.root,
            renew_before=life.root_renew,
            issuer=issuer_ref("Issuer", selfsigned),
            usages=CA_USAGES,
            organizations=[intent.spec.mesh.trust_domain],
        ),
        PlannedObject(
            "cert-manager/cluster-issuer.yaml.j2",
            CERT_MANAGER,
            "ClusterIssuer",
            cluster_issuer,
            None,
            {"labels": labels, "ca_secret": root},
        ),
    )
    watch = cert_manager_watch(intent, "root", f"{what} {ns}/{root}", ns, root, life.root_renew)
    return Root(objects, issuer_ref("ClusterIssuer", cluster_issuer), root, (watch,))


def cert_manager_watch(
    intent: MeshIntent, level: str, what: str, namespace: str, name: str, renew: Duration
) -> ExpiryWatch:
    days = intent.spec.telemetry.alerts.certificate_expiry_days
    # cert-manager renews at expiry - renewBefore; half of that window gone means renewal is failing.
    threshold = min(days * DAY_S, renew.ms // 2000)
    return ExpiryWatch(
        level,
        what,
        f'certmanager_certificate_expiration_timestamp_seconds{{namespace="{namespace}",name="{name}"}} - time()',
        threshold,
        f"cert-manager should have renewed it {human_seconds(renew.ms // 1000)} before expiry (renewBefore)",
    )


def workload_watch(intent: MeshIntent, what: str, remaining: str, rotates_at: str) -> ExpiryWatch:
    life = Lifetimes.of(intent)
    days = intent.spec.telemetry.alerts.certificate_expiry_days
    # Proxies renew long before a quarter of the lifetime is left; less means renewal is failing.
    threshold = min(days * DAY_S, life.cert.ms // 4000)
    return ExpiryWatch("workload", what, remaining, threshold, f"proxies renew it at {rotates_at}")


def namespace_regex(intent: MeshIntent) -> str:
    spaces = intent.namespaces()
    return "|".join(spaces)


def explicit_lifetimes(intent: MeshIntent) -> list[str]:
    ca = intent.spec.mesh.ca
    names = {
        "cert_lifetime": "certLifetime",
        "issuer_lifetime": "issuerLifetime",
        "root_lifetime": "rootLifetime",
        "renew_before": "renewBefore",
    }
    return [key for attr, key in names.items() if attr in ca.model_fields_set]


def ca_feature(ca_type: str) -> Feature:
    return {
        "mesh": Feature.CA_MESH,
        "cert-manager": Feature.CA_CERT_MANAGER,
        "vault": Feature.CA_VAULT,
        "spire": Feature.CA_SPIRE,
    }[ca_type]
