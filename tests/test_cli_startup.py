"""`meshgen COMMAND --help` imports neither pydantic nor the intent model (issue 17's start-up).

Structural, not timed: importing pydantic was most of the 0.15 s a subcommand's --help took.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

COMMANDS = ["render", "check", "validate", "diff", "analyze", "import", "cost", "graph", "advise", "schema",
            "init", "platforms"]

PROBE = """
import json, sys
from meshgen.cli import app
sys.argv = ["meshgen", *json.loads(sys.argv[1])]
try:
    app()
except SystemExit as exc:
    code = exc.code
heavy = sorted(m for m in ("pydantic", "typer._adapters", "meshgen.intent", "meshgen.pipeline") if m in sys.modules)
sys.stderr.write(json.dumps({"code": code, "heavy": heavy}) + "\\n")
"""


def _probe(argv: list[str]) -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE, json.dumps(argv)], capture_output=True, text=True, check=True)
    return json.loads(done.stderr.strip().splitlines()[-1])


def test_every_command_is_probed():
    import typer.main

    from meshgen.cli import app

    assert sorted(typer.main.get_command(app).commands) == sorted(COMMANDS)


@pytest.mark.parametrize("argv", [["--help"], *[[c, "--help"] for c in COMMANDS]], ids=lambda a: " ".join(a))
def test_help_loads_no_pydantic(argv):
    result = _probe(argv)
    assert result == {"code": 0, "heavy": []}


def test_missing_argument_is_still_a_usage_error():
    """The patch answers absent values itself; a required one must still be reported (exit 2)."""
    assert _probe(["render"])["code"] == 2


def test_install_is_idempotent():
    import meshgen.cli  # noqa: F401  (installs once on import)
    from meshgen.cli_startup import install

    assert install() is False


def test_command_annotations_are_objects_not_strings():
    """typer reads every command's parameters on each run; string annotations (``from __future__
    import annotations``) made it evaluate them all, about 7 ms of every command."""
    from meshgen.cli import app

    callbacks = [app.registered_callback.callback, *(c.callback for c in app.registered_commands)]
    for callback in callbacks:
        strings = {k for k, v in callback.__annotations__.items() if isinstance(v, str)}
        assert not strings, (callback.__name__, strings)


def test_model_annotations_are_objects_not_strings():
    """pydantic evaluates string annotations (``from __future__ import annotations``) one by one
    when it builds the intent model, a cost every command pays."""
    import meshgen.intent.model as model
    import meshgen.intent.rollout as rollout
    from pydantic import BaseModel

    for module in (model, rollout):
        for name, cls in vars(module).items():
            if isinstance(cls, type) and issubclass(cls, BaseModel) and cls.__module__ == module.__name__:
                strings = {k for k, v in cls.__dict__.get("__annotations__", {}).items() if isinstance(v, str)}
                assert not strings, (name, strings)
