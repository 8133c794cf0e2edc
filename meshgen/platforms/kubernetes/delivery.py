"""Progressive delivery without a mesh: no proxy shifts traffic and nothing measures requests.

Flagger's ``kubernetes`` provider does blue-green only: it switches the Service between the
primary and the canary Deployment, no weights (https://docs.flagger.app/tutorials/kubernetes-blue-green).
Request metrics exist only if the application exports them (see :mod:`.observability`).
"""

from meshgen.delivery.support import DeliverySupport

DELIVERY = DeliverySupport(
    metrics=None,
    flagger_provider="kubernetes",
    flagger_builtin_metrics=False,
    flagger_shifts_traffic=False,
    argo_traffic_routing=None,
)
