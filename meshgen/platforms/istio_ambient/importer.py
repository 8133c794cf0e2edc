"""Istio ambient manifests -> an intent: ambient reads the same VirtualService, DestinationRule,
AuthorizationPolicy and PeerAuthentication APIs as sidecar mode (its waypoints enforce the L7
parts), so it shares :mod:`meshgen.platforms.istio.importer`; waypoint objects are listed as not
understood. Source: https://istio.io/latest/docs/ambient/usage/l7-features/."""

from meshgen.platforms.istio.importer import IMPORTER

__all__ = ["IMPORTER"]
