"""Lay a :class:`~meshgen.callgraph.diagram.Diagram` out as a Mermaid flowchart.

Mermaid renders inside GitHub and GitLab markdown (a fenced ``mermaid`` block). Syntax:
https://mermaid.js.org/syntax/flowchart.html (subgraphs, ``-->|label|`` edges, ``-.->`` dotted
links, ``classDef``/``class`` node styles, ``linkStyle N`` by edge order). Every label is a quoted
string whose ``"``, ``#``, ``<``, ``>`` and ``&`` are written as Mermaid's numeric entity codes
(``#35;``: "Entity codes to escape characters" on that page), so intent text can never close a
label or inject markup; lines are joined with ``<br/>``.
"""

from __future__ import annotations

from meshgen.callgraph.diagram import Diagram, Node
from meshgen.capabilities import Support

#: Fill / stroke per mark; the same colours as the DOT output.
STYLES = {
    Support.NOT_EXPRESSIBLE: ("lost", "fill:#f8d7da,stroke:#b00020,color:#000"),
    Support.APPROXIMATED: ("approximated", "fill:#fff3cd,stroke:#b58100,color:#000"),
}
EDGE_COLOUR = {Support.NOT_EXPRESSIBLE: "#b00020", Support.APPROXIMATED: "#b58100"}
_SHAPES = {"service": ('["', '"]'), "gateway": ('{{"', '"}}'), "external": ('(["', '"])')}
_ESCAPED = {c: f"#{ord(c)};" for c in '"#<>&'}


def text(lines: tuple[str, ...] | list[str]) -> str:
    """One label: each line entity-escaped, joined with ``<br/>``."""
    return "<br/>".join("".join(_ESCAPED.get(c, c) for c in line) for line in lines)


def _node(node: Node) -> str:
    left, right = _SHAPES[node.kind]
    return f"{node.id}{left}{text(node.lines)}{right}"


def render(diagram: Diagram) -> str:
    """The flowchart source (left to right), ending with a newline."""
    out = ["flowchart LR"]
    by_id = {n.id: n for n in diagram.nodes}
    for k, (namespace, ids) in enumerate(diagram.groups):
        out.append(f'  subgraph ns{k}["{text(["namespace " + namespace])}"]')
        out += [f"    {_node(by_id[i])}" for i in ids]
        out.append("  end")
    out += [f"  {_node(n)}" for n in diagram.nodes if n.group is None]
    for edge in diagram.edges:
        arrow = "-.->" if edge.kind == "route" else "-->"
        label = f'|"{text(edge.lines)}"|' if edge.lines else ""
        out.append(f"  {edge.source} {arrow}{label} {edge.target}")
    for support, (name, style) in STYLES.items():
        marked = [n.id for n in diagram.nodes if n.mark is support]
        if marked:
            out.append(f"  classDef {name} {style}")
            out.append(f"  class {','.join(marked)} {name}")
    for k, edge in enumerate(diagram.edges):
        if edge.mark is not None:
            out.append(f"  linkStyle {k} stroke:{EDGE_COLOUR[edge.mark]},stroke-width:2px")
    return "\n".join(out) + "\n"
