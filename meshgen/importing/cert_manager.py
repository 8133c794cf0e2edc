"""The cert-manager chain meshgen writes for ``spec.mesh.ca``, read back (every platform's importer).

The inverse of :func:`meshgen.platforms.cert_manager.root_chain` and the intermediates the
platforms' certificates modules add below it. Found by shape, not by name:

- the **root**: the one ``isCA`` Certificate issued by a namespaced ``Issuer`` with
  ``spec.selfSigned`` (https://cert-manager.io/docs/configuration/selfsigned/), in
  ``ca.caNamespace``;
- its **ClusterIssuer**: ``spec.ca.secretName`` is the root's ``spec.secretName``
  (https://cert-manager.io/docs/configuration/ca/);
- the **intermediate**: the ``isCA`` Certificate that ClusterIssuer signs (Istio's ``istio-ca``,
  Linkerd's ``linkerd-identity-issuer``, the Kubernetes platform's workload CA);
- the **signers** on the intermediate: Issuers/ClusterIssuers whose ``spec.ca.secretName`` is the
  intermediate's Secret (Istio's Issuer ``istio-ca`` that istio-csr asks, Kubernetes' workload
  ClusterIssuer);
- the trust-manager **Bundles** whose source is the root's Secret
  (https://cert-manager.io/docs/trust/trust-manager/).

Lifetimes: ``spec.duration`` (cert-manager's default when absent: 2160h, 90 days) and
``spec.renewBefore`` (default: a third of the duration, which is also the intent's default)
of https://cert-manager.io/docs/usage/certificate/ (fields: ../shared/crds/cert-manager,
``certificates.cert-manager.io`` v1 ``spec.duration``/``spec.renewBefore``, Go durations as
``time.ParseDuration`` reads them; ``kubectl get`` prints them as ``2160h0m0s``). A duration the
intent cannot hold (units below a millisecond, ``us``/``ns``, or no duration at all) is LOST at
its field; the rest of the object is left to the caller (every mesh importer compares
it with what the imported intent renders, :mod:`meshgen.importing.operations`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from meshgen.importing.reader import SourceObject
from meshgen.intent.types import Duration

GROUP = "cert-manager.io"
TRUST_GROUP = "trust.cert-manager.io"
#: cert-manager's ``spec.duration`` when a Certificate does not set it (90 days).
DEFAULT_DURATION = Duration(2160 * 3_600_000)
#: The intent's defaults (meshgen.intent.model.CertificateAuthority).
INTENT_ISSUER_LIFETIME = Duration(8760 * 3_600_000)
INTENT_ROOT_LIFETIME = Duration(87600 * 3_600_000)
INTENT_CA_NAMESPACE = "cert-manager"

#: ``lost(obj, path, message)``: how the reader reports what the intent cannot hold.
Lost = Callable[[SourceObject, tuple, str], None]


@dataclass
class Chain:
    """The chain's objects as read (see the module docstring); ``intermediate`` None when absent."""

    selfsigned: SourceObject
    root: SourceObject
    root_issuer: SourceObject
    intermediate: SourceObject | None = None
    signers: list[SourceObject] = field(default_factory=list)
    bundles: list[SourceObject] = field(default_factory=list)

    @property
    def objects(self) -> list[SourceObject]:
        """Every object of the chain, root first."""
        out = [self.selfsigned, self.root, self.root_issuer]
        if self.intermediate is not None:
            out.append(self.intermediate)
        return out + self.signers + self.bundles


def issued_by(cert: SourceObject) -> tuple[str, str]:
    """A Certificate's ``spec.issuerRef`` as ``(kind, name)``; kind defaults to ``Issuer``."""
    ref = cert.spec.get("issuerRef") or {}
    return str(ref.get("kind") or "Issuer"), str(ref.get("name") or "")


def find_chain(by_kind: dict[str, list[SourceObject]]) -> Chain | None:
    """The chain in ``by_kind`` (kind -> objects), or None when there is no single self-signed
    root with a ClusterIssuer on it (other shapes stay the caller's leftovers)."""
    certs = [o for o in by_kind.get("Certificate", []) if o.group == GROUP]
    issuers = [o for o in by_kind.get("Issuer", []) if o.group == GROUP]
    cluster = [o for o in by_kind.get("ClusterIssuer", []) if o.group == GROUP]
    selfsigned = {(o.namespace, o.name): o for o in issuers if "selfSigned" in o.spec}
    roots = [(c, selfsigned[(c.namespace, issued_by(c)[1])]) for c in certs
             if c.spec.get("isCA") and issued_by(c)[0] == "Issuer" and (c.namespace, issued_by(c)[1]) in selfsigned]
    if len(roots) != 1:
        return None
    root, issuer = roots[0]
    secret = str(root.spec.get("secretName"))
    root_issuer = next((o for o in cluster if str((o.spec.get("ca") or {}).get("secretName")) == secret), None)
    if root_issuer is None:
        return None
    chain = Chain(issuer, root, root_issuer)
    chain.intermediate = next((c for c in certs if c.spec.get("isCA") and issued_by(c) == ("ClusterIssuer", root_issuer.name)), None)
    if chain.intermediate is not None:
        inter = chain.intermediate
        inter_secret = str(inter.spec.get("secretName"))
        chain.signers = [o for o in issuers if o.namespace == inter.namespace and str((o.spec.get("ca") or {}).get("secretName")) == inter_secret]
        chain.signers += [o for o in cluster if str((o.spec.get("ca") or {}).get("secretName")) == inter_secret]
    chain.bundles = [b for b in by_kind.get("Bundle", []) if b.group == TRUST_GROUP
                     and any((s.get("secret") or {}).get("name") == secret for s in b.spec.get("sources") or [])]
    return chain


def go_duration(obj: SourceObject, path: tuple, default: Duration, lost: Lost) -> Duration:
    """The Go duration at ``path`` of ``obj`` (``default`` when absent) as an intent Duration;
    one the intent cannot hold is reported LOST through ``lost`` and ``default`` returned."""
    node: Any = obj.body
    for part in path:
        node = node.get(part) if isinstance(node, dict) else None
    if node is None:
        return default
    text = str(node)
    try:
        return Duration.parse(text)
    except ValueError:
        lost(obj, path, f"{text} is not a duration the intent can hold (h, m, s and ms, nothing finer); "
                        f"read as {Duration(default)}")
        return default


def read_ca(chain: Chain, lost: Lost) -> dict[str, Any]:
    """``spec.mesh.ca`` from ``chain``: type cert-manager, ``issuerLifetime`` (intermediate),
    ``rootLifetime``, ``renewBefore`` and ``caNamespace`` (the root's namespace), each only when
    it differs from the intent's default. ``certLifetime`` is the platform's (Helm values or
    workload Certificates): the caller adds it.

    renewBefore: the intent has one value for root and intermediate, or a third of each lifetime
    when unset. Equal values are that value; both a third of their lifetimes leave it unset;
    otherwise the root's is kept and the caller's comparison reports the intermediate's.
    """
    ca: dict[str, Any] = {"type": "cert-manager"}
    root = go_duration(chain.root, ("spec", "duration"), DEFAULT_DURATION, lost)
    root_renew = go_duration(chain.root, ("spec", "renewBefore"), Duration(root // 3), lost)
    if chain.intermediate is not None:
        issuer = go_duration(chain.intermediate, ("spec", "duration"), DEFAULT_DURATION, lost)
        issuer_renew = go_duration(chain.intermediate, ("spec", "renewBefore"), Duration(issuer // 3), lost)
        if issuer != INTENT_ISSUER_LIFETIME:
            ca["issuerLifetime"] = str(issuer)
    else:
        issuer, issuer_renew = INTENT_ISSUER_LIFETIME, Duration(INTENT_ISSUER_LIFETIME // 3)
    if root != INTENT_ROOT_LIFETIME:
        ca["rootLifetime"] = str(root)
    if not (root_renew == root // 3 and issuer_renew == issuer // 3):
        ca["renewBefore"] = str(root_renew)
    if chain.root.namespace and chain.root.namespace != INTENT_CA_NAMESPACE:
        ca["caNamespace"] = chain.root.namespace
    return ca
