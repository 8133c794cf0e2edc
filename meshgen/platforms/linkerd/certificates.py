"""Identity on Linkerd: who signs workload certificates, how long each level lives, who rotates it.

* Linkerd. ``mesh``: the CLI's one-year trust anchor and issuer, which nothing rotates: a
  critical finding (an outage when they expire) and an expiry alert on the identity controller's
  ``issuer_cert_ttl_seconds``. Nothing meshgen writes reads ``issuerLifetime``, ``rootLifetime``
  or ``renewBefore`` then (the Helm chart takes the certificates as PEM,
  ``identityTrustAnchorsPEM`` / ``identity.issuer.tls.crtPEM``): when the intent sets them, a
  finding says they are not applied and gives the ``step certificate create ... --not-after``
  commands of https://linkerd.io/2.19/tasks/generate-certificates/ that make certificates with
  those lifetimes. Only ``certLifetime`` is applied (``identity.issuer.issuanceLifetime``).
  ``cert-manager`` / ``vault``: the recipe of
  https://linkerd.io/2.19/tasks/automatically-rotating-control-plane-tls-credentials/: trust
  anchor and identity issuer as ECDSA cert-manager Certificates with ``rotationPolicy: Always``,
  a trust-manager Bundle ``linkerd-identity-trust-roots``, and ``identity.externalCA: true`` with
  ``identity.issuer.scheme: kubernetes.io/tls``. renewBefore is "renew this long *before
  expiry*": the docs' ``renewBefore: 7320h`` on an 8760h anchor renews after 60 days, not 60
  days before expiry (platform-matrix.md section 3.2), so meshgen writes the intent's value as is.

Shared cert-manager pieces: :mod:`meshgen.platforms.cert_manager`.
"""

from __future__ import annotations

from meshgen.capabilities import Feature, Report, Severity
from meshgen.intent.model import MeshIntent
from meshgen.platforms import gateway_api as gapi
from meshgen.platforms.base import PlannedObject
from meshgen.platforms.cert_manager import (
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
from meshgen.platforms.sections import DAY_S, ExpiryWatch, Section, duration_text


def plan_certificates(intent: MeshIntent, report: Report, cp_ns: str) -> Section:
    """Linkerd: the CLI's certificates (flagged), or the cert-manager + trust-manager recipe."""
    out = Section()
    ca = intent.spec.mesh.ca
    life = Lifetimes.of(intent)
    labels = gapi.labels_for(intent)
    td = intent.spec.mesh.trust_domain
    if ca.type not in ("mesh", "spire"):  # those get their own, louder findings below
        report.use(ca_feature(ca.type), "mesh")
    days = intent.spec.telemetry.alerts.certificate_expiry_days
    out.add_values(
        "linkerd-control-plane",
        {"identityTrustDomain": td, "identity": {"issuer": {"issuanceLifetime": duration_text(life.cert.ms)}}},
    )
    out.watches.append(
        workload_watch(
            intent,
            "Linkerd proxy identity certificates",
            f'min by (namespace, pod) (identity_cert_expiration_timestamp_seconds{{namespace=~"{namespace_regex(intent)}"}}) - time()',
            "70% of their lifetime",
        )
    )

    if ca.type in ("mesh", "spire"):
        if ca.type == "spire":
            report.lost(
                Feature.CA_SPIRE,
                "mesh",
                "Linkerd pods always get identities from linkerd-identity; falling back to the CLI-made trust anchor and issuer",
            )
        report.approximated(
            Feature.CA_MESH,
            "mesh",
            "WARNING: the trust anchor and identity issuer are made once (linkerd install, or step for Helm) and expire "
            "after 365 days; nothing rotates them, and when they expire every meshed connection fails at once. Use "
            "ca.type: cert-manager; until then rotate them by hand when the MeshCertificateExpiringSoon alert "
            f"(certificate=issuer) fires, {days} days before the issuer expires, and pass them to Helm with --set-file identityTrustAnchorsPEM=ca.crt "
            "--set-file identity.issuer.tls.crtPEM=issuer.crt --set-file identity.issuer.tls.keyPEM=issuer.key",
            Severity.CRITICAL,
        )
        _unread_lifetimes(intent, report)
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

    root = root_chain(
        intent,
        labels,
        selfsigned="linkerd-trust-root-issuer",
        root="linkerd-trust-anchor",
        cluster_issuer="linkerd-identity-issuer",
        common_name=f"root.linkerd.{td}",
        what="Linkerd trust anchor",
    )
    out.objects.extend(root.objects)
    out.watches.extend(root.watches)
    out.objects.append(
        certificate(
            "linkerd-identity-issuer",
            cp_ns,
            labels,
            common_name=f"identity.linkerd.{td}",
            dns_names=[f"identity.linkerd.{td}"],
            duration=life.issuer,
            renew_before=life.issuer_renew,
            issuer=root.signer,
            usages=["cert sign", "crl sign", "server auth", "client auth"],
        )
    )
    out.watches.append(
        cert_manager_watch(
            intent,
            "issuer",
            f"Linkerd identity issuer {cp_ns}/linkerd-identity-issuer",
            cp_ns,
            "linkerd-identity-issuer",
            life.issuer_renew,
        )
    )
    # Linkerd reads its trust roots from this ConfigMap when identity.externalCA is true.
    out.objects.append(
        PlannedObject(
            "trust-manager/bundle.yaml.j2",
            TRUST,
            "Bundle",
            "linkerd-identity-trust-roots",
            None,
            {
                "labels": labels,
                "sources": [{"secret": {"name": "linkerd-trust-anchor", "key": "tls.crt"}}],
                "target_key": "ca-bundle.crt",
                "target_namespace_labels": {"kubernetes.io/metadata.name": cp_ns},
            },
        )
    )
    out.add_values("trust-manager", {"app": {"trust": {"namespace": ca.ca_namespace}}})
    out.add_values(
        "linkerd-control-plane", {"identity": {"externalCA": True, "issuer": {"scheme": "kubernetes.io/tls"}}}
    )
    if root.secret is None:
        report.approximated(
            ca_feature(ca.type),
            "mesh",
            f"the trust anchor is {ca.issuer_ref.kind} {ca.issuer_ref.name}'s root, which meshgen cannot read: put its "
            f"certificate in Secret {ca.ca_namespace}/linkerd-trust-anchor (key tls.crt) for the Bundle "
            "linkerd-identity-trust-roots",
        )
    else:
        report.approximated(
            ca_feature(ca.type),
            "mesh",
            f"cert-manager re-issues the trust anchor {life.root_renew} before it expires, but Linkerd must trust the old "
            "and new anchors during the switch: before that, copy the old one into Secret "
            f"{ca.ca_namespace}/linkerd-previous-anchor, add it to the Bundle linkerd-identity-trust-roots, and restart "
            "the control plane and then the workloads",
            Severity.CRITICAL,
        )
    return out


def _unread_lifetimes(intent: MeshIntent, report: Report) -> None:
    """With the CLI-made certificates, the intent's issuer and root lifetimes and renewBefore are read by nothing."""
    ca = intent.spec.mesh.ca
    values = {"issuerLifetime": ca.issuer_lifetime, "rootLifetime": ca.root_lifetime, "renewBefore": ca.renew_before}
    unread = [f"{key} {values[key]}" for key in explicit_lifetimes(intent) if key in values]
    if not unread:
        return
    td = intent.spec.mesh.trust_domain
    report.approximated(
        Feature.CA_MESH,
        "mesh",
        f"{', '.join(unread)} not applied: with ca.type mesh Linkerd takes the trust anchor and issuer as made "
        "(linkerd install: 365 days), and nothing renews them. Make them with these lifetimes "
        f"(https://linkerd.io/2.19/tasks/generate-certificates/): step certificate create root.linkerd.{td} ca.crt ca.key "
        f"--profile root-ca --no-password --insecure --not-after {ca.root_lifetime}; step certificate create "
        f"identity.linkerd.{td} issuer.crt issuer.key --profile intermediate-ca --not-after {ca.issuer_lifetime} "
        "--no-password --insecure --ca ca.crt --ca-key ca.key; or use ca.type cert-manager, which applies them all",
    )
