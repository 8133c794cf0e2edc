"""Istio ambient's operations read back: Istio's (:mod:`meshgen.platforms.istio.operations_import`:
istiod and istio-csr values, the mesh-wide Telemetry), planned and compared as ambient renders them
(:mod:`meshgen.platforms.istio_ambient.control_plane`: ``profile: ambient`` in the istiod, istio-cni
and ztunnel values, ztunnel's ``istioNamespace``; its PodMonitor for ztunnel).

istiod's ``meshConfig.defaultHttpRetryPolicy`` is read by the ambient importer itself
(``defaults.retries``, :class:`meshgen.platforms.istio_ambient.importer.AmbientRun`), which reports
what it cannot carry; the comparison leaves that key to it.
"""

from __future__ import annotations

from meshgen.importing.operations import Context, OperationsReader
from meshgen.platforms.istio import operations_import as istio


def read(ctx: Context) -> None:
    """Istio's reading (:func:`meshgen.platforms.istio.operations_import.read`); the retry policy is the importer's."""
    istio.read(ctx)
    istiod = ctx.values.get("istiod")
    if istiod is not None:
        ctx.reported.add((id(istiod), ("meshConfig", "defaultHttpRetryPolicy")))


READER = OperationsReader("istio-ambient", read)
