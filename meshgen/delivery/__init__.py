"""Progressive delivery: the controller objects for services with a ``rollout``, and who owns routing.

For every service with ``services[].rollout`` (:mod:`meshgen.intent.rollout`), the controller
it names (Flagger or Argo Rollouts) gets its objects (``Canary`` / ``Rollout`` and their metric
templates), configured for the platform being rendered from the platform's
:class:`~meshgen.delivery.support.DeliverySupport` (its package's ``delivery`` module). Where the
controller takes over routing objects meshgen would otherwise write, meshgen leaves them out and
says who owns what (:func:`meshgen.delivery.plan.apply`).
"""
