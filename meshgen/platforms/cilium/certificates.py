"""Identity on Cilium: who signs workload certificates, how long each level lives, who rotates it.

* Cilium. SPIRE mutual authentication (deprecated from Cilium 1.20) when mTLS is strict,
  WireGuard or IPsec encryption (``mesh.encryption``), and Hubble's TLS certificates from
  cert-manager (``hubble.tls.auto.method: certmanager``) or a rotating CronJob, never the
  chart's default one-shot Helm certificates.

Shared cert-manager pieces: :mod:`meshgen.platforms.cert_manager`.
"""

from __future__ import annotations

from meshgen.capabilities import Feature, Report
from meshgen.intent.model import MeshIntent
from meshgen.platforms import gateway_api as gapi
from meshgen.platforms.cert_manager import ca_feature, explicit_lifetimes, root_chain
from meshgen.platforms.sections import DAY_S, ExpiryWatch, Section


def plan_certificates(intent: MeshIntent, report: Report, cp_ns: str) -> Section:
    """Cilium: SPIRE mutual authentication, WireGuard/IPsec, Hubble TLS (see the module docstring)."""
    out = Section()
    mesh = intent.spec.mesh
    ca = mesh.ca
    labels = gapi.labels_for(intent)
    # Workload certificates exist only with mutual authentication (strict); permissive uses none.
    if mesh.mtls == "strict" or ca.type != "mesh":
        report.use(ca_feature(ca.type), "mesh")
    out.add_values("cilium", {"encryption": {"enabled": True, "type": mesh.encryption}})
    if mesh.encryption == "ipsec":
        report.approximated(
            Feature.MTLS_STRICT if mesh.mtls == "strict" else Feature.MTLS_PERMISSIVE,
            "mesh",
            "IPsec needs the key Secret kube-system/cilium-ipsec-keys, which meshgen does not generate (keys do not "
            "belong in generated files) and nothing rotates: create and rotate it as Cilium's IPsec guide shows",
        )
    if mesh.mtls == "strict":
        out.add_values(
            "cilium",
            {
                "authentication": {
                    "enabled": True,
                    "mutual": {
                        "spire": {"enabled": True, "install": {"enabled": True}, "trustDomain": mesh.trust_domain}
                    },
                }
            },
        )
        report.approximated(
            ca_feature(ca.type) if ca.type in ("mesh", "spire") else Feature.CA_SPIRE,
            "mesh",
            "Cilium mutual authentication (SPIRE) is deprecated from Cilium 1.20 and planned for removal in 1.21 "
            "(cilium/cilium#47132); these values target the 1.19 chart",
        )
        explicit = explicit_lifetimes(intent)
        if explicit:
            report.approximated(
                ca_feature(ca.type),
                "mesh",
                f"the chart's bundled SPIRE server keeps its own CA and SVID lifetimes: {', '.join(explicit)} not applied",
            )
    if ca.type in ("cert-manager", "vault"):
        root = root_chain(
            intent,
            labels,
            selfsigned="cilium-selfsigned",
            root="cilium-root-ca",
            cluster_issuer="cilium-root-ca",
            common_name="cilium-root-ca",
            what="Cilium root CA",
        )
        out.objects.extend(root.objects)
        out.watches.extend(root.watches)
        out.add_values(
            "cilium",
            {
                "hubble": {
                    "tls": {"auto": {"enabled": True, "method": "certmanager", "certManagerIssuerRef": root.signer}}
                }
            },
        )
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
