"""The allowed-call graph as plain data, for ``meshgen graph`` (drawing) and ``meshgen cost`` (paths).

:mod:`meshgen.callgraph.diagram` plans what to draw (nodes, namespace groups, labelled edges,
platform colours); :mod:`meshgen.callgraph.mermaid` and :mod:`meshgen.callgraph.dot` only lay that
plan out; :mod:`meshgen.callgraph.paths` walks the call graph of :mod:`meshgen.analyze.graph`
(built once for the analyzers, reused here rather than rebuilt).
"""
