"""The ``meshgen`` command: thin wrappers over :mod:`meshgen.pipeline`.

Exit codes (also in README): 0 success; 1 invalid intent, invalid output, or drift; 2 usage
error; 3 the platform cannot express part of the intent and ``--allow-loss`` was not given.
Errors go to stderr; stdout carries only the requested output, and nothing half-written.
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from meshgen import pipeline
from meshgen.errors import EXIT_INVALID, EXIT_LOSS, IntentLossError, MeshgenError, OutputError
from meshgen.loader import lint, load_intent
from meshgen.output import write_platform_folder
from meshgen.report import findings_json, findings_text, matrix_json, matrix_rows

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Render one declarative intent into service-mesh manifests for Istio, Linkerd and Cilium.",
    pretty_exceptions_enable=False,
)


class ReportFormat(str, Enum):
    """How findings are printed on stderr."""

    text = "text"
    json = "json"


IntentArg = Annotated[Path, typer.Argument(help="The intent file (YAML).", show_default=False)]
PlatformOpt = Annotated[
    Optional[str], typer.Option("--platform", "-p", help="Target platform; default: the intent's spec.platform.")
]


def _err(text: str) -> None:
    if text:
        sys.stderr.write(text if text.endswith("\n") else text + "\n")


def _fail(exc: MeshgenError) -> typer.Exit:
    _err(f"error: {exc}")
    return typer.Exit(exc.exit_code)


def _warnings(intent, path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for problem in lint(intent, text, path):
        _err(f"warning: {problem}")


@app.command()
def render(
    intent_path: IntentArg,
    platform: PlatformOpt = None,
    output: Annotated[
        Optional[Path], typer.Option("--output", "-o", help="Write one file per object under DIR/<platform>/.")
    ] = None,
    allow_loss: Annotated[
        bool, typer.Option("--allow-loss", help="Render even when the platform cannot express part of the intent.")
    ] = False,
    report: Annotated[ReportFormat, typer.Option("--report", help="Findings format on stderr.")] = ReportFormat.text,
) -> None:
    """Render INTENT for a platform: a YAML stream on stdout, or files under --output."""
    try:
        intent = load_intent(intent_path)
        target = platform or intent.spec.platform
        rendering = pipeline.render(intent, target, pipeline.source_name(intent_path))
        _warnings(intent, intent_path)
        findings = rendering.plan.findings
        _err(findings_json(target, findings) if report is ReportFormat.json else findings_text(target, findings))
        lost = [f for f in findings if f.loses_intent]
        if lost and not allow_loss:
            raise IntentLossError(
                f"{target} cannot express {len(lost)} part{'s' if len(lost) != 1 else ''} of the intent "
                "(LOST above); nothing was written. Pass --allow-loss to render without them."
            )
        if output is None:
            sys.stdout.write(rendering.stream)
            return
        removed = write_platform_folder(output / target, list(rendering.files))
        _err(f"wrote {len(rendering.files)} files to {output / target}")
        for rel in removed:
            _err(f"removed stale generated file {output / target / rel}")
    except MeshgenError as exc:
        raise _fail(exc) from None


@app.command()
def validate(
    intent_path: IntentArg,
    platform: PlatformOpt = None,
    crds: Annotated[
        Optional[Path],
        typer.Option("--crds", help="Also render and check every object against the CRDs in this folder."),
    ] = None,
    experimental: Annotated[
        bool, typer.Option("--experimental", help="Use the Gateway API experimental channel CRDs found in --crds.")
    ] = False,
) -> None:
    """Check INTENT; with --crds, also check every rendered object as the API server would."""
    try:
        intent = load_intent(intent_path)
        _warnings(intent, intent_path)
        if crds is None:
            _err(f"{intent_path}: intent is valid")
            return
        from meshgen.validate import CRDCatalog, validate_objects

        target = platform or intent.spec.platform
        rendering = pipeline.render(intent, target, pipeline.source_name(intent_path))
        catalog = CRDCatalog.from_directory(crds, experimental=experimental)
        violations = validate_objects(rendering.objects(), catalog)
        if violations:
            raise OutputError(
                f"{len(violations)} rendered object problem{'s' if len(violations) != 1 else ''} for {target}:\n"
                + "\n".join(str(v) for v in violations)
            )
        _err(f"{intent_path}: intent is valid; {len(rendering.documents)} {target} objects accepted by {crds}")
    except MeshgenError as exc:
        raise _fail(exc) from None


@app.command()
def platforms(
    json_output: Annotated[bool, typer.Option("--json", help="Print the matrix as JSON.")] = False,
) -> None:
    """List the target platforms and what each supports (the capability matrix)."""
    if json_output:
        sys.stdout.write(matrix_json())
        return
    from rich.console import Console
    from rich.table import Table

    from meshgen.platforms import PLATFORMS

    console = Console(width=200)
    for name, plat in sorted(PLATFORMS.items()):
        console.print(f"[bold]{name}[/bold]: {plat.description}")
    table = Table(title="Capability matrix (native / approximated / not-expressible)", show_lines=False)
    table.add_column("feature")
    table.add_column("intent")
    from meshgen.capabilities import PLATFORM_NAMES

    for name in PLATFORM_NAMES:
        table.add_column(name)
    for row in matrix_rows():
        table.add_row(row["feature"], row["intent"], *(row[p] for p in PLATFORM_NAMES))
    console.print(table)


def main() -> None:
    """Console-script entry point."""
    app()


__all__ = ["app", "main", "EXIT_INVALID", "EXIT_LOSS"]
