"""Longest call paths over allowFrom (shared by advise and cost), counted by hand."""

from __future__ import annotations

from meshgen.callgraph.paths import longest, longest_paths
from meshgen.loader import load
from tests.conftest import REPO

HEAD = "apiVersion: meshgen.dev/v1alpha1\nkind: MeshIntent\nmetadata: {name: t}\nspec:\n  defaults: {namespace: t}\n"


def test_bookinfo_longest_path_is_productpage_reviews_ratings():
    intent = load([REPO / "examples" / "bookinfo" / "intent.yaml"]).intent
    path = longest(intent)
    # gateway -> productpage (1) -> reviews (2) -> ratings (3); details is only 2 hops.
    assert path.services == ("bookinfo/productpage", "bookinfo/reviews", "bookinfo/ratings")
    assert path.hops == 3


def test_cycles_are_cut_and_external_callers_make_entries(tmp_path):
    body = """\
  services:
    - name: a
      ports: [{name: http, port: 80}]
      allowFrom: [{service: c}]
    - name: b
      ports: [{name: http, port: 80}]
      allowFrom: [{service: a}, {namespace: ops}]
    - name: c
      ports: [{name: http, port: 80}]
      allowFrom: [{service: b}]
"""
    path = tmp_path / "intent.yaml"
    path.write_text(HEAD + body)
    paths = longest_paths(load([path]).intent)
    # a -> b -> c -> a is a cycle, cut at c -> a (the edge that closes it, in document order).
    # Entries: a (no caller left once the cycle is cut), b (the ops namespace calls it).
    assert [(p.services, p.hops) for p in paths] == [
        (("t/a", "t/b", "t/c"), 3),
        (("t/b", "t/c"), 2),
    ]
