"""Workload certificates without a mesh: cert-manager issues them, the applications use them.

With ``mesh.ca.type: cert-manager`` (or ``vault``), the chain is the one every meshgen platform
builds (:func:`meshgen.platforms.cert_manager.root_chain`): a self-signed root (``rootLifetime``)
in ``ca.caNamespace`` behind the ClusterIssuer ``<app>-root-ca`` (or the intent's ``issuerRef``),
an intermediate ``<app>-workload-ca`` (``issuerLifetime``) behind the ClusterIssuer of that name,
and one Certificate per workload identity, i.e. per (namespace, service account), in the workload's
namespace (``certLifetime``, renewed when a third is left). Each carries the identity's SPIFFE ID
``spiffe://<trustDomain>/ns/<namespace>/sa/<serviceAccount>`` as URI SAN, as a mesh's workload
certificate does, and the DNS names of the Services its pods serve, so ordinary TLS clients can
verify them by host name. A trust-manager Bundle copies the root into a ConfigMap
``<app>-ca-bundle`` (key ``ca.crt``) in every workload namespace, for clients to verify with.

This is application-level TLS: each application must mount its Secret, serve TLS with it, verify
its peers against the bundle, and reload it when cert-manager renews it. The finding says so.

Sources: https://cert-manager.io/docs/usage/certificate/ (``uris``, ``dnsNames``, ``usages``,
``privateKey.rotationPolicy``), https://cert-manager.io/docs/trust/trust-manager/ (Bundle
``target.namespaceSelector``), https://github.com/spiffe/spiffe/blob/main/standards/X509-SVID.md,
CRDs in ../shared/crds/cert-manager and ../shared/crds/trust-manager.
"""

from __future__ import annotations

from meshgen.capabilities import Feature, Report
from meshgen.intent.model import MeshIntent
from meshgen.intent.types import Duration
from meshgen.platforms import gateway_api as gapi
from meshgen.platforms.base import PlannedObject, object_name
from meshgen.platforms.cert_manager import (
    CA_USAGES,
    CERT_MANAGER,
    TRUST,
    Lifetimes,
    ca_feature,
    cert_manager_watch,
    certificate,
    root_chain,
)
from meshgen.platforms.helm_values import TRUST_MANAGER
from meshgen.platforms.identity import workloads
from meshgen.platforms.sections import DAY_S, ExpiryWatch, Section, duration_text, human_seconds

WORKLOAD_TEMPLATE = "kubernetes/workload-certificate.yaml.j2"
BUNDLE_TEMPLATE = "kubernetes/trust-bundle.yaml.j2"
NAMESPACE_LABEL = "kubernetes.io/metadata.name"


def spiffe_id(trust_domain: str, namespace: str, service_account: str) -> str:
    """The SPIFFE ID meshes give a pod: ``spiffe://cluster.local/ns/shop/sa/api``."""
    return f"spiffe://{trust_domain}/ns/{namespace}/sa/{service_account}"


def workload_certificate_name(service_account: str) -> str:
    """Certificate and Secret of a workload identity: ``<serviceAccount>-workload-tls``."""
    return object_name(service_account, "workload-tls")


def plan_certificates(intent: MeshIntent, report: Report, cp_ns: str) -> Section:
    """cert-manager objects, trust-manager values and expiry watches for ``intent`` (see the module docstring)."""
    out = Section()
    ca = intent.spec.mesh.ca
    mtls = intent.spec.mesh.mtls
    if ca.type == "mesh":
        # Only worth saying where mTLS was asked for: otherwise nothing expected a certificate.
        if mtls == "strict" or "type" in ca.model_fields_set:
            report.use(Feature.CA_MESH, "mesh")
        return out
    if ca.type == "spire":
        report.lost(
            Feature.CA_SPIRE,
            "mesh",
            "meshgen generates no SPIRE server or registration entries without a mesh: no workload receives an SVID "
            "(applications would fetch them from the SPIFFE Workload API themselves)",
        )
        return out
    app = intent.metadata.name
    labels = gapi.labels_for(intent)
    life = Lifetimes.of(intent)
    td = intent.spec.mesh.trust_domain
    root = root_chain(
        intent,
        labels,
        selfsigned=object_name(app, "selfsigned"),
        root=object_name(app, "root-ca"),
        cluster_issuer=object_name(app, "root-ca"),
        common_name=object_name(app, "root-ca"),
        what=f"{app} root CA",
    )
    out.objects.extend(root.objects)
    out.watches.extend(root.watches)
    intermediate = object_name(app, "workload-ca")
    out.objects.append(
        certificate(
            intermediate,
            ca.ca_namespace,
            labels,
            common_name=intermediate,
            duration=life.issuer,
            renew_before=life.issuer_renew,
            issuer=root.signer,
            usages=CA_USAGES,
            organizations=[td],
        )
    )
    out.objects.append(
        PlannedObject(
            "cert-manager/cluster-issuer.yaml.j2",
            CERT_MANAGER,
            "ClusterIssuer",
            intermediate,
            None,
            {"labels": labels, "ca_secret": intermediate},
        )
    )
    out.watches.append(
        cert_manager_watch(
            intent,
            "issuer",
            f"{app} workload CA {ca.ca_namespace}/{intermediate}",
            ca.ca_namespace,
            intermediate,
            life.issuer_renew,
        )
    )
    renew = Duration(life.cert.ms // 3)
    identities: dict[tuple[str, str], set[str]] = {}
    for w in workloads(intent):
        identities.setdefault((w.namespace, w.service_account), set()).add(w.service.name)
    for (ns, sa), services in sorted(identities.items()):
        dns = [name for svc in sorted(services) for name in (f"{svc}.{ns}.svc", f"{svc}.{ns}.svc.cluster.local")]
        name = workload_certificate_name(sa)
        out.objects.append(
            PlannedObject(
                WORKLOAD_TEMPLATE,
                CERT_MANAGER,
                "Certificate",
                name,
                ns,
                {
                    "labels": labels,
                    "secret_name": name,
                    "uris": [spiffe_id(td, ns, sa)],
                    "dns_names": dns,
                    "duration": duration_text(life.cert.ms),
                    "renew_before": duration_text(renew.ms),
                    "usages": ["digital signature", "key encipherment", "server auth", "client auth"],
                    "issuer": {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": intermediate},
                },
            )
        )
    namespaces = sorted({ns for ns, _ in identities})
    regex = "|".join(namespaces)
    days = intent.spec.telemetry.alerts.certificate_expiry_days
    out.watches.append(
        ExpiryWatch(
            "workload",
            "workload TLS certificates",
            f'min by (namespace, name) (certmanager_certificate_expiration_timestamp_seconds{{namespace=~"{regex}",'
            f'name=~".+-workload-tls"}}) - time()',
            min(days * DAY_S, renew.ms // 2000),
            f"cert-manager should have renewed them {human_seconds(renew.ms // 1000)} before expiry",
        )
    )
    bundle = object_name(app, "ca-bundle")
    source = root.secret if root.secret is not None else intermediate
    out.objects.append(
        PlannedObject(
            BUNDLE_TEMPLATE,
            TRUST,
            "Bundle",
            bundle,
            None,
            {
                "labels": labels,
                "sources": [{"secret": {"name": source, "key": "ca.crt"}}],
                "target_key": "ca.crt",
                "namespaces": namespaces,
            },
        )
    )
    out.add_values(TRUST_MANAGER.name, {"app": {"trust": {"namespace": ca.ca_namespace}}})
    report.approximated(
        ca_feature(ca.type),
        "mesh",
        f"cert-manager issues each workload identity a certificate (Secret <serviceAccount>-workload-tls, SPIFFE URI "
        f"SAN and the DNS names of its Services, {ca.cert_lifetime} lifetime) and trust-manager copies the CA into "
        f"ConfigMap {bundle} in every workload namespace; the applications must serve and verify TLS with them and "
        "reload them when renewed: nothing does it for them without a mesh",
    )
    if root.secret is None:
        report.approximated(
            ca_feature(ca.type),
            "mesh",
            f"the root is {ca.issuer_ref.kind} {ca.issuer_ref.name}'s, which meshgen cannot read: the Bundle {bundle} "
            f"copies the ca.crt of {intermediate}, which holds whatever CA the issuer returns",
        )
    return out
