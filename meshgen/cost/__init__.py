"""``meshgen cost``: what each target adds to the cluster (memory, CPU) and to a request's p99.

:mod:`meshgen.cost.figures` reads the figures (``meshgen/data/cost-figures.yaml``, each with low /
typical / high values and a source; ``--figures FILE`` replaces platforms' entries);
:mod:`meshgen.cost.engine` multiplies them by the intent's pods, nodes, waypoints and
control-plane replicas, and the per-hop p99 by the hops of the longest call paths
(:mod:`meshgen.callgraph.paths`); :mod:`meshgen.cost.output` prints tables or JSON.
"""
