"""Lay a :class:`~meshgen.callgraph.diagram.Diagram` out as Graphviz DOT, and as SVG through ``dot``.

DOT is generated with the ``graphviz`` package (https://graphviz.readthedocs.io/, which quotes
identifiers and attribute values); intent text goes through :func:`graphviz.escape` (backslashes
doubled, so no ``\\N``/``\\G`` escapes can be smuggled in) and :func:`graphviz.nohtml` (a label
that starts with ``<`` is text, not an HTML-like label). Namespaces are ``cluster_`` subgraphs,
which ``dot`` draws as boxes (https://graphviz.org/Gallery/directed/cluster.html).
"""

from __future__ import annotations

import shutil
import subprocess

import graphviz

from meshgen.callgraph.diagram import Diagram, Node
from meshgen.capabilities import Support
from meshgen.errors import MeshgenError, UsageError

FILL = {Support.NOT_EXPRESSIBLE: "#f8d7da", Support.APPROXIMATED: "#fff3cd"}
STROKE = {Support.NOT_EXPRESSIBLE: "#b00020", Support.APPROXIMATED: "#b58100"}
_SHAPES = {"service": "box", "gateway": "hexagon", "external": "ellipse"}


def _label(lines) -> str:
    # "\n" is DOT's centred line break inside a quoted string.
    return graphviz.nohtml("\\n".join(graphviz.escape(line) for line in lines))


def _node_attrs(node: Node) -> dict[str, str]:
    attrs = {"shape": _SHAPES[node.kind], "style": "rounded" if node.kind == "service" else "solid"}
    if node.kind == "external":
        attrs["style"] = "dashed"
    if node.mark is not None:
        attrs.update(style=attrs["style"] + ",filled", fillcolor=FILL[node.mark], color=STROKE[node.mark])
    return attrs


def render(diagram: Diagram) -> str:
    """The DOT source of ``diagram`` (a ``digraph``, left to right)."""
    title = f"{diagram.title}: allowed calls"
    if diagram.platform:
        title += f" on {diagram.platform} (red: lost, amber: approximated)"
    dot = graphviz.Digraph(graphviz.escape(diagram.title))
    dot.attr(rankdir="LR", label=_label([title, *diagram.notes]), labelloc="t", fontname="Helvetica")
    dot.attr("node", fontname="Helvetica", fontsize="10")
    dot.attr("edge", fontname="Helvetica", fontsize="9")
    by_id = {n.id: n for n in diagram.nodes}
    for k, (namespace, ids) in enumerate(diagram.groups):
        with dot.subgraph(name=f"cluster_{k}") as sub:
            sub.attr(label=_label([f"namespace {namespace}"]), style="rounded")
            for i in ids:
                sub.node(i, _label(by_id[i].lines), **_node_attrs(by_id[i]))
    for node in diagram.nodes:
        if node.group is None:
            dot.node(node.id, _label(node.lines), **_node_attrs(node))
    for edge in diagram.edges:
        attrs = {"style": "dashed"} if edge.kind == "route" else {}
        if edge.mark is not None:
            attrs.update(color=STROKE[edge.mark], fontcolor=STROKE[edge.mark], penwidth="2")
        dot.edge(edge.source, edge.target, label=_label(edge.lines) if edge.lines else None, **attrs)
    return dot.source


class GraphvizMissing(UsageError):
    """``--format svg`` needs Graphviz's ``dot`` on PATH (Debian/Ubuntu: ``apt-get install graphviz``)."""


def svg(source: str) -> str:
    """``source`` drawn by ``dot -Tsvg``.

    Raises:
        GraphvizMissing: no ``dot`` on PATH (exit 2, a usage error like a missing extra).
        MeshgenError: ``dot`` refused the source (a meshgen bug; its stderr is quoted).
    """
    exe = shutil.which("dot")
    if exe is None:
        raise GraphvizMissing(
            "--format svg needs Graphviz's dot command, which is not on PATH: install Graphviz "
            "(apt-get install graphviz, brew install graphviz) or use --format dot / mermaid"
        )
    done = subprocess.run([exe, "-Tsvg"], input=source.encode("utf-8"), capture_output=True, check=False)
    if done.returncode != 0:
        raise MeshgenError(f"dot failed ({done.returncode}): {done.stderr.decode('utf-8', 'replace').strip()}")
    return done.stdout.decode("utf-8")
