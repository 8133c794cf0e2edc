"""Progressive delivery without a mesh: no proxy shifts traffic and nothing measures requests.

Flagger's ``kubernetes`` provider does blue-green only: it switches the Service between the
primary and the canary Deployment, no weights (https://docs.flagger.app/tutorials/kubernetes-blue-green).
Request metrics exist only if the application exports them (see :mod:`.observability`).
Argo Rollouts without traffic routing sets canary weights by scaling the canary and stable
ReplicaSets (https://argo-rollouts.readthedocs.io/en/stable/features/canary/), so a weight is
only as fine as the replica count allows.
"""

from meshgen.delivery.support import DeliverySupport

DELIVERY = DeliverySupport(
    metrics=None,
    flagger_provider="kubernetes",
    flagger_builtin_metrics=False,
    flagger_shifts_traffic=False,
    argo_traffic_routing=None,
)
