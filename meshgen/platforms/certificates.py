"""Identity: who signs workload certificates, how long each level lives, and who rotates it.

Per platform, for ``spec.mesh.ca``:

* Istio. ``mesh``: istiod's self-signed CA (root lifetime ``CITADEL_SELF_SIGNED_CA_CERT_TTL``,
  workload lifetime requested by the sidecar agent's ``SECRET_TTL``). ``cert-manager`` / ``vault``:
  istio-csr. A self-signed root (or the intent's ``issuerRef``) signs an intermediate
  Certificate ``istio-ca`` in the control-plane namespace, an Issuer ``istio-ca`` on it signs
  workloads through istio-csr; istiod gets ``global.caAddress`` pointed at istio-csr and
  ``ENABLE_CA_SERVER=false``; a trust-manager Bundle pins the root for istio-csr
  (``app.tls.rootCAFile``). Sources: https://cert-manager.io/docs/usage/istio-csr/,
  ../shared/charts/istio-csr/values.yaml, platform-matrix.md section 3.1.
* Linkerd. ``mesh``: the CLI's one-year trust anchor and issuer, which nothing rotates: a loud
  finding and an expiry alert on the identity controller's ``issuer_cert_ttl_seconds``.
  ``cert-manager`` / ``vault``: the recipe of
  https://linkerd.io/2.19/tasks/automatically-rotating-control-plane-tls-credentials/: trust
  anchor and identity issuer as ECDSA cert-manager Certificates with ``rotationPolicy: Always``,
  a trust-manager Bundle ``linkerd-identity-trust-roots``, and ``identity.externalCA: true`` with
  ``identity.issuer.scheme: kubernetes.io/tls``. renewBefore is "renew this long *before
  expiry*": the docs' ``renewBefore: 7320h`` on an 8760h anchor renews after 60 days, not 60
  days before expiry (platform-matrix.md section 3.2), so meshgen writes the intent's value as is.
* Cilium. SPIRE mutual authentication (deprecated from Cilium 1.20) when mTLS is strict,
  WireGuard or IPsec encryption (``mesh.encryption``), and Hubble's TLS certificates from
  cert-manager (``hubble.tls.auto.method: certmanager``) or a rotating CronJob, never the
  chart's default one-shot Helm certificates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from meshgen.capabilities import Feature, Report
from meshgen.intent.model import MeshIntent
from meshgen.intent.types import Duration
from meshgen.platforms import gateway_api as gapi
from meshgen.platforms.base import PlannedObject
from meshgen.platforms.ops_base import (
    DAY_S,
    ExpiryWatch,
    Section,
    control_plane_namespace,
    duration_text,
    human_seconds,
)

CERT_MANAGER = "cert-manager.io/v1"
TRUST = "trust.cert-manager.io/v1alpha1"
CA_USAGES = ["digital signature", "cert sign", "crl sign"]
#: Istio's own self-signed root: istiod renews it when 20% of its life is left (grace percentile).
ISTIOD_ROOT_GRACE = 0.2
#: istiod's default MAX_WORKLOAD_CERT_TTL: 90 days.
ISTIOD_MAX_WORKLOAD_TTL_MS = 2160 * 3_600_000


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


def plan_certificates(platform: str, intent: MeshIntent, report: Report) -> Section:
    """Identity objects, values and expiry watches of ``intent`` on ``platform``.

    Raises:
        KeyError: unknown platform name.
    """
    return {"istio": istio_certificates, "linkerd": linkerd_certificates, "cilium": cilium_certificates}[platform](
        intent, report
    )


# --- shared cert-manager pieces ---------------------------------------------------------------


def _issuer_ref(kind: str, name: str, group: str = "cert-manager.io") -> dict[str, str]:
    return {"group": group, "kind": kind, "name": name}


def _certificate(
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


def _root(intent: MeshIntent, labels: dict[str, str], *, selfsigned: str, root: str, cluster_issuer: str,
          common_name: str, what: str) -> Root:
    ca = intent.spec.mesh.ca
    if ca.issuer_ref is not None:
        ref = ca.issuer_ref
        return Root((), _issuer_ref(ref.kind, ref.name, ref.group), None, ())
    life = Lifetimes.of(intent)
    ns = ca.ca_namespace
    objects = (
        PlannedObject("cert-manager/issuer.yaml.j2", CERT_MANAGER, "Issuer", selfsigned, ns, {"labels": labels, "ca_secret": None}),
        _certificate(
            root, ns, labels, common_name=common_name, duration=life.root, renew_before=life.root_renew,
            issuer=_issuer_ref("Issuer", selfsigned), usages=CA_USAGES,
            organizations=[intent.spec.mesh.trust_domain],
        ),
        PlannedObject(
            "cert-manager/cluster-issuer.yaml.j2", CERT_MANAGER, "ClusterIssuer", cluster_issuer, None,
            {"labels": labels, "ca_secret": root},
        ),
    )
    watch = _cert_manager_watch(intent, "root", f"{what} {ns}/{root}", ns, root, life.root_renew)
    return Root(objects, _issuer_ref("ClusterIssuer", cluster_issuer), root, (watch,))


def _cert_manager_watch(intent: MeshIntent, level: str, what: str, namespace: str, name: str, renew: Duration) -> ExpiryWatch:
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


def _workload_watch(intent: MeshIntent, what: str, remaining: str, rotates_at: str) -> ExpiryWatch:
    life = Lifetimes.of(intent)
    days = intent.spec.telemetry.alerts.certificate_expiry_days
    # Proxies renew long before a quarter of the lifetime is left; less means renewal is failing.
    threshold = min(days * DAY_S, life.cert.ms // 4000)
    return ExpiryWatch("workload", what, remaining, threshold, f"proxies renew it at {rotates_at}")


def _namespace_regex(intent: MeshIntent) -> str:
    spaces = intent.namespaces()
    return "|".join(spaces)


def _explicit_lifetimes(intent: MeshIntent) -> list[str]:
    ca = intent.spec.mesh.ca
    names = {"cert_lifetime": "certLifetime", "issuer_lifetime": "issuerLifetime", "root_lifetime": "rootLifetime",
             "renew_before": "renewBefore"}
    return [key for attr, key in names.items() if attr in ca.model_fields_set]


def _ca_feature(ca_type: str) -> Feature:
    return {"mesh": Feature.CA_MESH, "cert-manager": Feature.CA_CERT_MANAGER, "vault": Feature.CA_VAULT,
            "spire": Feature.CA_SPIRE}[ca_type]


# --- Istio --------------------------------------------------------------------------------


def istio_certificates(intent: MeshIntent, report: Report) -> Section:
    """Istio: istiod's CA, or istio-csr with a cert-manager chain (see the module docstring)."""
    out = Section()
    ca = intent.spec.mesh.ca
    life = Lifetimes.of(intent)
    labels = gapi.labels_for(intent)
    cp_ns = control_plane_namespace("istio", intent)
    td = intent.spec.mesh.trust_domain
    report.use(_ca_feature(ca.type), "mesh")
    # The sidecar agent asks for this lifetime (SECRET_TTL, default 24h); the CA caps it.
    out.add_values("istiod", {"meshConfig": {"trustDomain": td, "defaultConfig": {"proxyMetadata": {"SECRET_TTL": duration_text(life.cert.ms)}}}})
    workload = _workload_watch(
        intent,
        "Istio workload certificates",
        f'min by (namespace, pod) (istio_agent_cert_expiry_seconds{{namespace=~"{_namespace_regex(intent)}"}})',
        "half of their lifetime",
    )

    if ca.type == "mesh":
        env = {"CITADEL_SELF_SIGNED_CA_CERT_TTL": duration_text(life.root.ms)}
        if life.cert.ms > ISTIOD_MAX_WORKLOAD_TTL_MS:
            env["MAX_WORKLOAD_CERT_TTL"] = duration_text(life.cert.ms)
        out.add_values("istiod", {"env": env})
        explicit = _explicit_lifetimes(intent)
        if "issuerLifetime" in explicit:
            report.approximated(
                Feature.CA_MESH, "mesh",
                f"istiod's self-signed root signs workload certificates directly: there is no intermediate, so "
                f"issuerLifetime {ca.issuer_lifetime} is not used (use ca.type cert-manager for a root -> intermediate chain)",
            )
        if "renewBefore" in explicit:
            report.approximated(
                Feature.CA_MESH, "mesh",
                f"istiod renews its self-signed root itself when 20% of its lifetime is left; renewBefore {ca.renew_before} is not used",
            )
        days = intent.spec.telemetry.alerts.certificate_expiry_days
        grace_s = int(life.root.ms / 1000 * ISTIOD_ROOT_GRACE)
        out.watches.append(
            ExpiryWatch(
                "root",
                "Istio root CA (istiod self-signed)",
                "min(citadel_server_root_cert_expiry_timestamp) - time()",
                min(days * DAY_S, grace_s // 2),
                f"istiod should have renewed it {human_seconds(grace_s)} before expiry (20% of its lifetime)",
            )
        )
        out.watches.append(workload)
        return out

    if ca.type == "spire":
        report.approximated(
            Feature.CA_SPIRE, "mesh",
            "meshgen does not generate the SPIRE server, the SPIFFE CSI driver or the sidecar injection template "
            "(inject.istio.io/templates: sidecar,spire) that Istio's SPIRE integration needs; lifetimes come from SPIRE",
        )
        out.watches.append(workload)
        return out

    # cert-manager or vault: root -> intermediate istio-ca -> workloads through istio-csr.
    root = _root(intent, labels, selfsigned="istio-selfsigned", root="istio-root-ca", cluster_issuer="istio-root-ca",
                 common_name="istio-root-ca", what="Istio root CA")
    out.objects.extend(root.objects)
    out.watches.extend(root.watches)
    out.objects.append(
        _certificate("istio-ca", cp_ns, labels, common_name="istio-ca", duration=life.issuer, renew_before=life.issuer_renew,
                     issuer=root.signer, usages=CA_USAGES, organizations=[td])
    )
    out.objects.append(
        PlannedObject("cert-manager/issuer.yaml.j2", CERT_MANAGER, "Issuer", "istio-ca", cp_ns, {"labels": labels, "ca_secret": "istio-ca"})
    )
    out.watches.append(_cert_manager_watch(intent, "issuer", f"Istio intermediate CA {cp_ns}/istio-ca", cp_ns, "istio-ca", life.issuer_renew))
    out.watches.append(workload)
    csr_ns = ca.ca_namespace
    csr: dict[str, Any] = {
        "app": {
            "certmanager": {"namespace": cp_ns, "issuer": {"group": "cert-manager.io", "kind": "Issuer", "name": "istio-ca"}},
            "tls": {"trustDomain": td},
            "server": {"maxCertificateDuration": duration_text(life.cert.ms)},
            "istio": {"namespace": cp_ns},
            "controller": {"leaderElectionNamespace": cp_ns},
        }
    }
    if root.secret is not None:
        # Pin the root istio-csr hands out, instead of trusting whatever CA cert-manager returns.
        out.objects.append(
            PlannedObject(
                "trust-manager/bundle.yaml.j2", TRUST, "Bundle", "istio-root-ca", None,
                {
                    "labels": labels,
                    "sources": [{"secret": {"name": root.secret, "key": "ca.crt"}}],
                    "target_key": "root-cert.pem",
                    "target_namespace_labels": {"kubernetes.io/metadata.name": csr_ns},
                },
            )
        )
        out.add_values("trust-manager", {"app": {"trust": {"namespace": ca.ca_namespace}}})
        csr["app"]["tls"]["rootCAFile"] = "/var/run/secrets/istio-csr/root-cert.pem"
        csr["volumes"] = [{"name": "root-ca", "configMap": {"name": "istio-root-ca"}}]
        csr["volumeMounts"] = [{"name": "root-ca", "mountPath": "/var/run/secrets/istio-csr", "readOnly": True}]
        report.approximated(
            _ca_feature(ca.type), "mesh",
            f"cert-manager re-issues the root {life.root_renew} before it expires, with a new key, and istio-csr trusts one "
            "root at a time: before then, add the new root next to the old one in the Bundle istio-root-ca and restart "
            "istio-csr, istiod and the workloads (Istio recommends istio-csr for new clusters because it has no CA rotation)",
        )
    else:
        report.approximated(
            _ca_feature(ca.type), "mesh",
            f"the root is {ca.issuer_ref.kind} {ca.issuer_ref.name}'s, which meshgen cannot read: istio-csr trusts the CA "
            "certificate cert-manager returns instead of a pinned root (set app.tls.rootCAFile yourself to pin it)",
        )
    out.add_values("istio-csr", csr)
    out.add_values("istiod", {"global": {"caAddress": f"cert-manager-istio-csr.{csr_ns}.svc:443"}, "env": {"ENABLE_CA_SERVER": "false"}})
    return out


# --- Linkerd ------------------------------------------------------------------------------


def linkerd_certificates(intent: MeshIntent, report: Report) -> Section:
    """Linkerd: the CLI's certificates (flagged), or the cert-manager + trust-manager recipe."""
    out = Section()
    ca = intent.spec.mesh.ca
    life = Lifetimes.of(intent)
    labels = gapi.labels_for(intent)
    cp_ns = control_plane_namespace("linkerd", intent)
    td = intent.spec.mesh.trust_domain
    if ca.type not in ("mesh", "spire"):  # those get their own, louder findings below
        report.use(_ca_feature(ca.type), "mesh")
    days = intent.spec.telemetry.alerts.certificate_expiry_days
    out.add_values(
        "linkerd-control-plane",
        {"identityTrustDomain": td, "identity": {"issuer": {"issuanceLifetime": duration_text(life.cert.ms)}}},
    )
    out.watches.append(
        _workload_watch(
            intent,
            "Linkerd proxy identity certificates",
            f'min by (namespace, pod) (identity_cert_expiration_timestamp_seconds{{namespace=~"{_namespace_regex(intent)}"}}) - time()',
            "70% of their lifetime",
        )
    )

    if ca.type in ("mesh", "spire"):
        if ca.type == "spire":
            report.lost(Feature.CA_SPIRE, "mesh", "Linkerd pods always get identities from linkerd-identity; falling back to the CLI-made trust anchor and issuer")
        report.approximated(
            Feature.CA_MESH,
            "mesh",
            "WARNING: the trust anchor and identity issuer are made once (linkerd install, or step for Helm) and expire "
            "after 365 days; nothing rotates them, and when they expire every meshed connection fails at once. Use "
            "ca.type: cert-manager; until then rotate them by hand when the MeshCertificateExpiringSoon alert "
            f"(certificate=issuer) fires, {days} days before the issuer expires, and pass them to Helm with --set-file identityTrustAnchorsPEM=ca.crt "
            "--set-file identity.issuer.tls.crtPEM=issuer.crt --set-file identity.issuer.tls.keyPEM=issuer.key",
        )
        out.watches.append(
            ExpiryWatch(
                "issuer",
                "Linkerd identity issuer (made once, never rotated)",
                f'min(issuer_cert_ttl_seconds{{namespace="{cp_ns}"}})',
                days * DAY_S,
                "nothing rotates it; the trust anchor has no metric and is usually made with it, with the same lifetime",
            )
        )
        return out

    root = _root(intent, labels, selfsigned="linkerd-trust-root-issuer", root="linkerd-trust-anchor",
                 cluster_issuer="linkerd-identity-issuer", common_name=f"root.linkerd.{td}", what="Linkerd trust anchor")
    out.objects.extend(root.objects)
    out.watches.extend(root.watches)
    out.objects.append(
        _certificate(
            "linkerd-identity-issuer", cp_ns, labels, common_name=f"identity.linkerd.{td}",
            dns_names=[f"identity.linkerd.{td}"], duration=life.issuer, renew_before=life.issuer_renew,
            issuer=root.signer, usages=["cert sign", "crl sign", "server auth", "client auth"],
        )
    )
    out.watches.append(
        _cert_manager_watch(intent, "issuer", f"Linkerd identity issuer {cp_ns}/linkerd-identity-issuer", cp_ns,
                            "linkerd-identity-issuer", life.issuer_renew)
    )
    # Linkerd reads its trust roots from this ConfigMap when identity.externalCA is true.
    out.objects.append(
        PlannedObject(
            "trust-manager/bundle.yaml.j2", TRUST, "Bundle", "linkerd-identity-trust-roots", None,
            {
                "labels": labels,
                "sources": [{"secret": {"name": "linkerd-trust-anchor", "key": "tls.crt"}}],
                "target_key": "ca-bundle.crt",
                "target_namespace_labels": {"kubernetes.io/metadata.name": cp_ns},
            },
        )
    )
    out.add_values("trust-manager", {"app": {"trust": {"namespace": ca.ca_namespace}}})
    out.add_values("linkerd-control-plane", {"identity": {"externalCA": True, "issuer": {"scheme": "kubernetes.io/tls"}}})
    if root.secret is None:
        report.approximated(
            _ca_feature(ca.type), "mesh",
            f"the trust anchor is {ca.issuer_ref.kind} {ca.issuer_ref.name}'s root, which meshgen cannot read: put its "
            f"certificate in Secret {ca.ca_namespace}/linkerd-trust-anchor (key tls.crt) for the Bundle "
            "linkerd-identity-trust-roots",
        )
    else:
        report.approximated(
            _ca_feature(ca.type), "mesh",
            f"cert-manager re-issues the trust anchor {life.root_renew} before it expires, but Linkerd must trust the old "
            "and new anchors during the switch: before that, copy the old one into Secret "
            f"{ca.ca_namespace}/linkerd-previous-anchor, add it to the Bundle linkerd-identity-trust-roots, and restart "
            "the control plane and then the workloads",
        )
    return out


# --- Cilium -------------------------------------------------------------------------------


def cilium_certificates(intent: MeshIntent, report: Report) -> Section:
    """Cilium: SPIRE mutual authentication, WireGuard/IPsec, Hubble TLS (see the module docstring)."""
    out = Section()
    mesh = intent.spec.mesh
    ca = mesh.ca
    labels = gapi.labels_for(intent)
    # Workload certificates exist only with mutual authentication (strict); permissive uses none.
    if mesh.mtls == "strict" or ca.type != "mesh":
        report.use(_ca_feature(ca.type), "mesh")
    out.add_values("cilium", {"encryption": {"enabled": True, "type": mesh.encryption}})
    if mesh.encryption == "ipsec":
        report.approximated(
            Feature.MTLS_STRICT if mesh.mtls == "strict" else Feature.MTLS_PERMISSIVE, "mesh",
            "IPsec needs the key Secret kube-system/cilium-ipsec-keys, which meshgen does not generate (keys do not "
            "belong in generated files) and nothing rotates: create and rotate it as Cilium's IPsec guide shows",
        )
    if mesh.mtls == "strict":
        out.add_values(
            "cilium",
            {
                "authentication": {
                    "enabled": True,
                    "mutual": {"spire": {"enabled": True, "install": {"enabled": True}, "trustDomain": mesh.trust_domain}},
                }
            },
        )
        report.approximated(
            _ca_feature(ca.type) if ca.type in ("mesh", "spire") else Feature.CA_SPIRE,
            "mesh",
            "Cilium mutual authentication (SPIRE) is deprecated from Cilium 1.20 and planned for removal in 1.21 "
            "(cilium/cilium#47132); these values target the 1.19 chart",
        )
        explicit = _explicit_lifetimes(intent)
        if explicit:
            report.approximated(
                _ca_feature(ca.type), "mesh",
                f"the chart's bundled SPIRE server keeps its own CA and SVID lifetimes: {', '.join(explicit)} not applied",
            )
    if ca.type in ("cert-manager", "vault"):
        root = _root(intent, labels, selfsigned="cilium-selfsigned", root="cilium-root-ca", cluster_issuer="cilium-root-ca",
                     common_name="cilium-root-ca", what="Cilium root CA")
        out.objects.extend(root.objects)
        out.watches.extend(root.watches)
        out.add_values("cilium", {"hubble": {"tls": {"auto": {"enabled": True, "method": "certmanager", "certManagerIssuerRef": root.signer}}}})
        cp_ns = control_plane_namespace("cilium", intent)
        days = intent.spec.telemetry.alerts.certificate_expiry_days
        # The chart's Hubble Certificates last certValidityDuration (365d) and renew at cert-manager's default 1/3.
        out.watches.append(
            ExpiryWatch(
                "issuer",
                f"Hubble TLS certificates ({cp_ns}/hubble-*)",
                f'min(certmanager_certificate_expiration_timestamp_seconds{{namespace="{cp_ns}",name=~"hubble-.+"}}) - time()',
                min(days * DAY_S, 60 * DAY_S),
                "cert-manager should have renewed them 121 days before expiry (a third of 365 days)",
            )
        )
    else:
        # The chart's default (method helm) makes one-year certificates renewed only by helm upgrade.
        out.add_values("cilium", {"hubble": {"tls": {"auto": {"enabled": True, "method": "cronJob"}}}})
    return out
