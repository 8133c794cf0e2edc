"""``meshgen advise`` output: a ranked table with each score's breakdown, or JSON for scripts."""

from __future__ import annotations

import json

from meshgen.advise.engine import Advice

_SHORT = {"native": "native", "approximated": "approx.", "not-expressible": "LOST"}


def to_json(advice: Advice) -> str:
    """The advice as one JSON document (keys sorted, so byte-identical across runs)."""
    doc = {
        "intent": advice.intent,
        "recommended": advice.recommended,
        "size": advice.size,
        "context": advice.context.model_dump(mode="json", by_alias=True),
        "longestPath": None if advice.longest_path is None else {
            "hops": advice.longest_path.hops, "services": list(advice.longest_path.services)},
        "features": {f: {p: s.value for p, s in row.items()} for f, row in advice.features.items()},
        "featureWeights": advice.weights,
        "ranking": [
            {"platform": r.platform, "mesh": r.mesh, "score": r.score, "eligible": r.eligible,
             "breakdown": [{"rule": c.rule, "points": c.points, "reason": c.reason} for c in r.breakdown]}
            for r in advice.ranking
        ],
    }
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def to_text(advice: Advice, console) -> None:
    """Print the size, the ranking table, the features table and every breakdown to ``console``."""
    from rich.table import Table

    size = advice.size
    teams = f", {size['teams']} teams" if size["teams"] is not None else ""
    console.print(f"{advice.intent}: {size['services']} services, {size['pods']} pods, "
                  f"{size['namespaces']} namespaces{teams}")
    if advice.longest_path is not None:
        console.print(f"longest call path: {advice.longest_path.hops} hops "
                      f"({' -> '.join(advice.longest_path.services)})")
    console.print(f"recommended: [bold]{advice.recommended}[/bold]")
    table = Table(title="Ranking (higher is better; rules: meshgen/data/advise-rules.yaml)")
    for column in ("rank", "platform", "score", "breakdown"):
        table.add_column(column)
    for k, r in enumerate(advice.ranking, 1):
        parts = ", ".join(f"{c.rule} {c.points:+d}" for c in r.breakdown if c.points) or "-"
        if not r.eligible:
            parts = f"EXCLUDED ({r.excluded}); {parts}"
        table.add_row(str(k), r.platform, f"{r.score:+d}", parts)
    console.print(table)
    if advice.features:
        names = [r.platform for r in advice.ranking]
        features = Table(title="Features the intent uses (weight 0: on by default, not counted)")
        features.add_column("feature")
        features.add_column("weight")
        for name in names:
            features.add_column(name)
        for feature, row in advice.features.items():
            features.add_row(feature, str(advice.weights[feature]), *(_SHORT[row[n].value] for n in names))
        console.print(features)
    for r in advice.ranking:
        console.print(f"[bold]{r.platform}[/bold] {r.score:+d}")
        for c in r.breakdown:
            console.print(f"  {c.points:+d} {c.rule}: {c.reason}", markup=False)
