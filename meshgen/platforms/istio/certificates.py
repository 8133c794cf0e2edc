"""Identity on Istio: who signs workload certificates, how long each level lives, who rotates it.

* Istio. ``mesh``: istiod's self-signed CA (root lifetime ``CITADEL_SELF_SIGNED_CA_CERT_TTL``,
  workload lifetime requested by the sidecar agent's ``SECRET_TTL``). ``cert-manager`` / ``vault``:
  istio-csr. A self-signed root (or the intent's ``issuerRef``) signs an intermediate
  Certificate ``istio-ca`` in the control-plane namespace, an Issuer ``istio-ca`` on it signs
  workloads through istio-csr; istiod gets ``global.caAddress`` pointed at istio-csr and
  ``ENABLE_CA_SERVER=false``; a trust-manager Bundle pins the root for istio-csr
  (``app.tls.rootCAFile``). Sources: https://cert-manager.io/docs/usage/istio-csr/,
  ../shared/charts/istio-csr/values.yaml, platform-matrix.md section 3.1.

Shared cert-manager pieces: :mod:`meshgen.platforms.cert_manager`.
"""

from __future__ import annotations

from typing import Any

from meshgen.capabilities import Feature, Report, Severity
from meshgen.intent.model import MeshIntent
from meshgen.platforms import gateway_api as gapi
from meshgen.platforms.base import PlannedObject
from meshgen.platforms.cert_manager import (
    CA_USAGES,
    CERT_MANAGER,
    TRUST,
    Lifetimes,
    ca_feature,
    cert_manager_watch,
    certificate,
    explicit_lifetimes,
    namespace_regex,
    root_chain,
    workload_watch,
)
from meshgen.platforms.sections import DAY_S, ExpiryWatch, Section, duration_text, human_seconds

#: Istio's own self-signed root: istiod renews it when 20% of its life is left (grace percentile).
ISTIOD_ROOT_GRACE = 0.2
#: istiod's default MAX_WORKLOAD_CERT_TTL: 90 days.
ISTIOD_MAX_WORKLOAD_TTL_MS = 2160 * 3_600_000


def plan_certificates(intent: MeshIntent, report: Report, cp_ns: str) -> Section:
    """Istio: istiod's CA, or istio-csr with a cert-manager chain (see the module docstring)."""
    out = Section()
    ca = intent.spec.mesh.ca
    life = Lifetimes.of(intent)
    labels = gapi.labels_for(intent)
    td = intent.spec.mesh.trust_domain
    report.use(ca_feature(ca.type), "mesh")
    # The sidecar agent asks for this lifetime (SECRET_TTL, default 24h); the CA caps it.
    out.add_values(
        "istiod",
        {
            "meshConfig": {
                "trustDomain": td,
                "defaultConfig": {"proxyMetadata": {"SECRET_TTL": duration_text(life.cert.ms)}},
            }
        },
    )
    workload = workload_watch(
        intent,
        "Istio workload certificates",
        f'min by (namespace, pod) (istio_agent_cert_expiry_seconds{{namespace=~"{namespace_regex(intent)}"}})',
        "half of their lifetime",
    )

    if ca.type == "mesh":
        env = {"CITADEL_SELF_SIGNED_CA_CERT_TTL": duration_text(life.root.ms)}
        if life.cert.ms > ISTIOD_MAX_WORKLOAD_TTL_MS:
            env["MAX_WORKLOAD_CERT_TTL"] = duration_text(life.cert.ms)
        out.add_values("istiod", {"env": env})
        explicit = explicit_lifetimes(intent)
        if "issuerLifetime" in explicit:
            report.approximated(
                Feature.CA_MESH,
                "mesh",
                f"istiod's self-signed root signs workload certificates directly: there is no intermediate, so "
                f"issuerLifetime {ca.issuer_lifetime} is not used (use ca.type cert-manager for a root -> intermediate chain)",
            )
        if "renewBefore" in explicit:
            report.approximated(
                Feature.CA_MESH,
                "mesh",
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
            Feature.CA_SPIRE,
            "mesh",
            "meshgen does not generate the SPIRE server, the SPIFFE CSI driver or the sidecar injection template "
            "(inject.istio.io/templates: sidecar,spire) that Istio's SPIRE integration needs; lifetimes come from SPIRE",
        )
        out.watches.append(workload)
        return out

    # cert-manager or vault: root -> intermediate istio-ca -> workloads through istio-csr.
    root = root_chain(
        intent,
        labels,
        selfsigned="istio-selfsigned",
        root="istio-root-ca",
        cluster_issuer="istio-root-ca",
        common_name="istio-root-ca",
        what="Istio root CA",
    )
    out.objects.extend(root.objects)
    out.watches.extend(root.watches)
    out.objects.append(
        certificate(
            "istio-ca",
            cp_ns,
            labels,
            common_name="istio-ca",
            duration=life.issuer,
            renew_before=life.issuer_renew,
            issuer=root.signer,
            usages=CA_USAGES,
            organizations=[td],
        )
    )
    out.objects.append(
        PlannedObject(
            "cert-manager/issuer.yaml.j2",
            CERT_MANAGER,
            "Issuer",
            "istio-ca",
            cp_ns,
            {"labels": labels, "ca_secret": "istio-ca"},
        )
    )
    out.watches.append(
        cert_manager_watch(
            intent, "issuer", f"Istio intermediate CA {cp_ns}/istio-ca", cp_ns, "istio-ca", life.issuer_renew
        )
    )
    out.watches.append(workload)
    csr_ns = ca.ca_namespace
    csr: dict[str, Any] = {
        "app": {
            "certmanager": {
                "namespace": cp_ns,
                "issuer": {"group": "cert-manager.io", "kind": "Issuer", "name": "istio-ca"},
            },
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
                "trust-manager/bundle.yaml.j2",
                TRUST,
                "Bundle",
                "istio-root-ca",
                None,
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
            ca_feature(ca.type),
            "mesh",
            f"cert-manager re-issues the root {life.root_renew} before it expires, with a new key, and istio-csr trusts one "
            "root at a time: before then, add the new root next to the old one in the Bundle istio-root-ca and restart "
            "istio-csr, istiod and the workloads (Istio recommends istio-csr for new clusters because it has no CA rotation)",
            Severity.CRITICAL,  # missed, the re-issued root splits the mesh: an outage
        )
    else:
        report.approximated(
            ca_feature(ca.type),
            "mesh",
            f"the root is {ca.issuer_ref.kind} {ca.issuer_ref.name}'s, which meshgen cannot read: istio-csr trusts the CA "
            "certificate cert-manager returns instead of a pinned root (set app.tls.rootCAFile yourself to pin it)",
        )
    out.add_values("istio-csr", csr)
    out.add_values(
        "istiod",
        {"global": {"caAddress": f"cert-manager-istio-csr.{csr_ns}.svc:443"}, "env": {"ENABLE_CA_SERVER": "false"}},
    )
    return out
