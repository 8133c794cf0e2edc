"""The ``meshgen`` command: thin wrappers over :mod:`meshgen.pipeline` and friends.

Exit codes (also in README): 0 success; 1 invalid intent, invalid output, or drift found by
``check``; 2 usage error (bad option, unknown platform, missing intent file); 3 the platform
cannot express part of the intent and ``--allow-loss`` was not given. Errors go to stderr; stdout
carries only the requested output (a YAML or JSON stream, a diff, a table, a schema), and nothing
half-written.

Habits of kubectl and friends: ``-h``, ``--version``, shell completion (``--install-completion``),
``-o FORMAT`` for the output format, ``--output DIR`` for a directory. Start-up stays fast because
this module imports only typer at the top: every command imports what it needs when it runs.

No ``from __future__ import annotations`` here: typer reads the parameters of every command on
each run, and with string annotations it evaluated some 300 strings to do so (``get_type_hints``),
about 7 ms of CPU of every command, ``--help`` included (issue 17). Names imported only for type
checking are quoted instead.
"""

import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from meshgen.cli_startup import install as _install_startup_patch

_install_startup_patch()  # absent options coerced without pydantic: --help stays fast

if TYPE_CHECKING:
    from meshgen.errors import MeshgenError
    from meshgen.loader import LoadedIntent

app = typer.Typer(
    no_args_is_help=True,
    # Platform names are not spelled here: importing meshgen.platforms (even its registry) loads the
    # intent model and pydantic, several times the start-up budget. `meshgen platforms` lists them.
    help="Render one declarative intent into service-mesh manifests for each target platform (meshgen platforms).",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    # Plain click help and errors: typer's rich formatting imports rich and markdown-it, which
    # alone took longer than the whole start-up budget (issue 17).
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        from meshgen import __version__

        sys.stdout.write(f"meshgen {__version__}\n")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Render one declarative intent into service-mesh manifests for each target platform."""


class ReportFormat(str, Enum):
    """How findings are printed on stderr."""

    text = "text"
    json = "json"


def _format_checker(choices: tuple[str, ...], directory_option: bool):
    """An ``-o`` callback: accept one of ``choices``; explain when a directory was meant."""

    def check(value: str) -> str:
        if value in choices:
            return value
        from meshgen.errors import did_you_mean

        listed = ", ".join(choices)
        if directory_option and (not value.isalpha() or Path(value).is_dir() or not did_you_mean(value, choices)):
            raise typer.BadParameter(
                f"{value!r} is not an output format: -o chooses the format ({listed}), as kubectl's -o does; "
                f"to write files into a directory use --output {value}"
            )
        suggestion = did_you_mean(value, choices)
        raise typer.BadParameter(f"unknown output format {value!r}{suggestion}; choose one of: {listed}")

    return check


def _format_option(choices: tuple[str, ...], *, directory_option: bool = False, what: str = "") -> Any:
    return typer.Option(
        "-o",
        "--format",
        callback=_format_checker(choices, directory_option),
        help=f"Output format: {', '.join(choices)}{what}.",
    )


IntentArgs = Annotated[
    list[Path],
    typer.Argument(
        help="Intent file(s), or directories of them: several are merged into one intent.", show_default=False
    ),
]
PlatformOpt = Annotated[
    Optional[str],
    typer.Option("--platform", "-p", help="Target platform (meshgen platforms lists them); default: spec.platform."),
]
AllowLossOpt = Annotated[
    bool,
    typer.Option("--allow-loss", help="Accept every loss: proceed even when the platform cannot express part of the intent."),
]
ReportFileOpt = Annotated[
    Optional[Path],
    typer.Option(
        "--report-file",
        metavar="PATH",
        help="Also write the findings as one JSON document to PATH (written whole, also when the render is refused).",
        show_default=False,
    ),
]
AcceptLossOpt = Annotated[
    Optional[list[str]],
    typer.Option(
        "--accept-loss",
        metavar="FEATURE[=SERVICE]",
        help="Accept this loss (repeatable), e.g. retry-budget or retry-budget=shop/api; others still refuse.",
        show_default=False,
    ),
]


def _err(text: str) -> None:
    if text:
        sys.stderr.write(text if text.endswith("\n") else text + "\n")


def _fail(exc: "MeshgenError") -> typer.Exit:
    _err(f"error: {exc}")
    return typer.Exit(exc.exit_code)


def _platform(name: str) -> str:
    """``name`` if it is a registered platform, else a usage error with a suggestion."""
    from meshgen.errors import UnknownPlatformError, did_you_mean
    from meshgen.platforms.registry import names

    if name not in names():
        known = list(names())
        raise UnknownPlatformError(f"unknown platform {name!r}{did_you_mean(name, known)}; known: {', '.join(known)}")
    return name


def _analyzed(paths: list[Path], platform: str | None = None):
    """Load and analyze for ``platform`` (default ``spec.platform``): analyzer errors refuse the
    intent (exit 1); returns the intent and its warnings."""
    from meshgen.analyze import AnalysisError, Severity, analyze
    from meshgen.gcpause import gc_paused
    from meshgen.loader import load

    with gc_paused():  # see meshgen.gcpause: a process-wide setting, so the CLI's to make
        loaded = load(paths, keep_nodes=True)  # analyze positions its findings from the node trees
        analysis = analyze(loaded, platform=platform)
    errors = [f for f in analysis.findings if f.severity is Severity.error]
    if errors:
        raise AnalysisError(errors)
    return loaded, [f for f in analysis.findings if f.severity is Severity.warning]


def _load(paths: list[Path], platform: str | None = None) -> "LoadedIntent":
    """Load and analyze for ``platform``; analyzer warnings go to stderr, one line each."""
    loaded, warnings = _analyzed(paths, platform)
    for finding in warnings:
        _err(finding.text())
    return loaded


def print_findings(text: str, console: Any = None) -> None:
    """Findings on stderr: the CRITICAL / LOST / approximated / info labels coloured on a terminal, plain when piped.

    ``console`` is a rich Console (default: one on stderr, which detects a terminal and honours
    NO_COLOR). Lines are never wrapped, so piped output stays one finding a line.
    """
    if not text:
        return
    if console is None and not _rich_would_style(sys.stderr) and all(
        line.isprintable() for line in text.split("\n")
    ):
        # What rich writes here, without importing it (about 17 ms of CPU): with no colour system
        # it writes each line's text and a newline. Printable text only: rich expands tabs and
        # drops some control characters.
        sys.stderr.write(text.rstrip("\n") + "\n")
        return
    from rich.console import Console
    from rich.text import Text

    console = console or Console(stderr=True, highlight=False, soft_wrap=True)
    styles = {"CRITICAL": "bold white on red", "LOST": "bold red", "approximated": "yellow", "info": "dim", "native": "green"}
    for line in text.rstrip("\n").split("\n"):
        styled = Text(line)
        label = line.strip().split(" ", 1)[0] if line.startswith("  ") else ""
        if label in styles:
            start = line.index(label)
            styled.stylize(styles[label], start, start + len(label))
        console.print(styled)


def _rich_would_style(stream: Any) -> bool:
    """Whether a rich ``Console(stderr=True)`` would write escape codes to ``stream`` (sys.stderr).

    rich 13-15's own decision (``Console.is_terminal`` and ``_detect_color_system``), read
    without importing rich: inside Jupyter (``get_ipython``) or IDLE, ask rich; ``TTY_COMPATIBLE=0``
    plain, ``=1`` styled; ``FORCE_COLOR`` set: styled unless empty (https://force-color.org/);
    otherwise styled when the stream is a terminal. ``NO_COLOR`` and ``TERM=dumb`` matter only on a
    terminal, which is left to rich. A stream that is None or a rich proxy, and Windows, are left
    to rich too (True: "ask rich").
    """
    import builtins
    import os

    if stream is None or hasattr(stream, "rich_proxied_file") or hasattr(builtins, "get_ipython"):
        return True
    if sys.platform == "win32":  # rich may write through the legacy Windows console API there
        return True
    if getattr(sys.stdin, "__module__", "").startswith("idlelib"):
        return True
    tty_compatible = os.environ.get("TTY_COMPATIBLE", "")
    if tty_compatible in ("0", "1"):
        return tty_compatible == "1"
    force_color = os.environ.get("FORCE_COLOR")
    if force_color is not None:
        return force_color != ""
    isatty = getattr(stream, "isatty", None)
    try:
        return False if isatty is None else bool(isatty())
    except ValueError:
        return False


def _render(
    loaded: "LoadedIntent",
    paths: list[Path],
    target: str,
    allow_loss: bool,
    accept: list[str] | None,
    report: ReportFormat | None,
    phase=None,
    output: Path | None = None,
    warnings=(),
    report_file: Path | None = None,
    documents: bool = True,
):
    """Render in memory and apply the loss gate (:mod:`meshgen.losses`).

    ``documents`` False renders the files only (see :func:`meshgen.pipeline.render`).

    ``report`` None prints findings only on refusal. Raises IntentLossError for refused losses,
    UnknownPlatformError for an unregistered ``target``, OutputError when ``report_file`` cannot be
    written. The JSON document (``--report json`` on stderr, and ``report_file`` whatever ``report``
    is, written before the gate refuses) is :func:`meshgen.report.findings_document` plus the
    analyzer ``warnings`` (key ``analyzers``).
    """
    from meshgen import pipeline
    from meshgen.errors import IntentLossError
    from meshgen.gcpause import gc_paused
    from meshgen.losses import judge, parse_accepts
    from meshgen.report import findings_document, findings_text

    acceptances = parse_accepts(accept or [])
    source = pipeline.source_name(paths, output, loaded.intent.metadata.name)
    with gc_paused():
        on_object = phase(f"rendering {target}") if phase is not None else None
        rendering = pipeline.render(loaded.intent, _platform(target), source, on_object, documents)
    findings = rendering.plan.findings
    verdict = judge(findings, loaded.intent, target, acceptances, allow_all=allow_loss)
    if report is ReportFormat.json or report_file is not None:
        import json

        from meshgen.analyze.formats import _row
        from meshgen.output import write_report_file

        doc = findings_document(target, findings, verdict.accepted)
        if warnings:
            doc["analyzers"] = [_row(f) for f in warnings]
        document = json.dumps(doc, indent=2, sort_keys=True) + "\n"
        if report_file is not None:
            write_report_file(report_file, document)
    if report is ReportFormat.json:
        _err(document)
    elif report is ReportFormat.text or verdict.refused:
        print_findings(findings_text(target, findings if report else verdict.refused, verdict.accepted))
    if verdict.refused:
        count = len(verdict.refused)
        raise IntentLossError(
            f"{target} cannot express {count} part{'s' if count != 1 else ''} of the intent (LOST above); nothing "
            "was written. Accept named losses with --accept-loss FEATURE[=SERVICE] or spec.acceptedLosses, or all "
            "with --allow-loss."
        )
    return rendering


def _collector_paused(command):
    """Run a typer command with Python's cyclic collector paused for its whole body.

    render, check and validate allocate the loaded intent, the plan and thousands of rendered
    files and make no garbage cycles (see :mod:`meshgen.gcpause`); with the collector running
    outside load and lay-out, writing or reading the files, the findings summary, the loss gate
    and importing the validation libraries ran full collections over all of it (0.09-0.15 s of CPU
    at 1,000 services on Linkerd, issue 17). ``functools.wraps`` keeps the signature, annotations
    and docstring typer reads.
    """
    import functools

    @functools.wraps(command)
    def paused(*args: Any, **kwargs: Any) -> Any:
        from meshgen.gcpause import gc_paused

        with gc_paused():
            return command(*args, **kwargs)

    return paused


@app.command()
@_collector_paused
def render(
    intent_paths: IntentArgs,
    platform: PlatformOpt = None,
    output: Annotated[
        Optional[Path], typer.Option("--output", help="Write one file per object under DIR/<platform>/.")
    ] = None,
    fmt: Annotated[
        str, _format_option(("yaml", "json"), directory_option=True, what=" (of the stream on stdout)")
    ] = "yaml",
    allow_loss: AllowLossOpt = False,
    accept_loss: AcceptLossOpt = None,
    report: Annotated[ReportFormat, typer.Option("--report", help="Findings format on stderr.")] = ReportFormat.text,
    report_file: ReportFileOpt = None,
) -> None:
    """Render the intent for a platform: a YAML (or JSON) stream on stdout, or files under --output."""
    if output is not None and fmt != "yaml":
        raise typer.BadParameter(
            "files under --output are always YAML; -o json applies to stdout only", param_hint="-o"
        )
    from meshgen.errors import MeshgenError
    from meshgen.output import write_platform_folder
    from meshgen.progress import progress

    try:
        if platform:  # a usage error comes before any work on the intent
            _platform(platform)
        if report is ReportFormat.json or report_file is not None:
            loaded, warnings = _analyzed(intent_paths, platform)  # the JSON document carries the analyzers' warnings
            if report is not ReportFormat.json:
                for finding in warnings:
                    _err(finding.text())
        else:
            loaded, warnings = _load(intent_paths, platform), []
        target = platform or loaded.intent.spec.platform
        with progress() as phase:
            rendering = _render(
                loaded, intent_paths, target, allow_loss, accept_loss, report, phase, output, warnings, report_file
            )
            if output is None:
                if fmt == "json":
                    import json

                    items = rendering.objects()
                    sys.stdout.write(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}, indent=2) + "\n")
                else:
                    sys.stdout.write(rendering.stream)
                return
            folder = output / target
            changes = write_platform_folder(folder, rendering.files, phase(f"writing {folder}"))
        if not changes.drifted:
            _err(f"{folder} is up to date ({len(rendering.files)} files)")
            return
        _err(
            f"wrote {len(rendering.files)} files to {folder} "
            f"({len(changes.added)} new, {len(changes.changed)} changed, {len(changes.stale)} removed)"
        )
        for rel in changes.stale:
            _err(f"removed stale generated file {folder / rel}")
    except MeshgenError as exc:
        raise _fail(exc) from None


@app.command()
@_collector_paused
def check(
    intent_paths: IntentArgs,
    output: Annotated[
        Path, typer.Option("--output", help="The directory meshgen render wrote (DIR of DIR/<platform>/).")
    ],
    platform: PlatformOpt = None,
    fmt: Annotated[
        str, _format_option(("text", "json"), directory_option=True, what=" (of the drift on stdout)")
    ] = "text",
    allow_loss: AllowLossOpt = False,
    accept_loss: AcceptLossOpt = None,
    report_file: ReportFileOpt = None,
) -> None:
    """Exit 1 with a unified diff when DIR/<platform> is not exactly what render would write.

    Compares a fresh in-memory rendering with the files meshgen wrote: changed, missing and stale
    generated files are drift; files meshgen did not write are ignored. File headers name the
    intent by its path in the output directory's git repository (or its metadata.name), so check
    agrees with render however either was invoked.
    """
    from meshgen.check import check_folder
    from meshgen.errors import EXIT_INVALID, MeshgenError
    from meshgen.progress import progress

    try:
        if platform:
            _platform(platform)
        loaded = _load(intent_paths, platform)
        target = platform or loaded.intent.spec.platform
        with progress() as phase:
            # Only the files: not holding every object's document besides them too keeps check's
            # peak memory below render's (8 MB of 100 at 1,000 services on Linkerd, issue 17).
            rendering = _render(
                loaded, intent_paths, target, allow_loss, accept_loss, None, phase, output,
                report_file=report_file, documents=False,
            )
        files = rendering.files
        # Comparing needs only the files: the plan, the per-object documents and the intent (with
        # its parsed files) are freed first, for the diff of a drifted folder to reuse.
        del rendering, loaded
        result = check_folder(output / target, files)
        if fmt == "json":
            import json

            changes = result.changes
            sys.stdout.write(json.dumps({
                "folder": (output / target).as_posix(), "upToDate": result.ok,
                "missing": list(changes.added), "changed": list(changes.changed), "stale": list(changes.stale),
            }, indent=2) + "\n")
        elif not result.ok:
            sys.stdout.write(result.diff)
        _err(result.summary())
        if not result.ok:
            raise typer.Exit(EXIT_INVALID)
    except MeshgenError as exc:
        raise _fail(exc) from None


@app.command()
@_collector_paused
def validate(
    intent_paths: IntentArgs,
    platform: PlatformOpt = None,
    crds: Annotated[
        Optional[Path],
        typer.Option("--crds", help="Check against the CRDs in this folder instead of meshgen's bundled ones."),
    ] = None,
    no_crds: Annotated[
        bool, typer.Option("--no-crds", help="Check the intent only; render nothing (no validation extra needed).")
    ] = False,
    experimental: Annotated[
        bool, typer.Option("--experimental", help="Use the Gateway API experimental channel CRDs.")
    ] = False,
    fmt: Annotated[str, _format_option(("text", "json"), what=" (json: the problems on stdout)")] = "text",
    allow_loss: AllowLossOpt = False,
    accept_loss: AcceptLossOpt = None,
    report_file: ReportFileOpt = None,
) -> None:
    """Check the intent, the loss gate (exit 3 as render would), and every rendered object as the API
    server would (offline).

    Custom resources are checked against meshgen's bundled upstream CRDs (see
    meshgen/kube/crds/SOURCES.md), or a cluster's own with --crds DIR. --no-crds stops after the
    loss gate.
    """
    import json

    from meshgen import pipeline
    from meshgen.errors import MeshgenError, OutputError

    try:
        if platform:
            _platform(platform)
        loaded = _load(intent_paths, platform)
        name = pipeline.source_name(intent_paths)
        target = _platform(platform or loaded.intent.spec.platform)
        rendering = _render(loaded, intent_paths, target, allow_loss, accept_loss, None, report_file=report_file)
        if no_crds:
            if fmt == "json":
                sys.stdout.write(json.dumps({"intent": name, "valid": True, "problems": []}, indent=2) + "\n")
            _err(f"{name}: intent is valid and renders on {target}")
            return
        from meshgen.kube import CRDCatalog, validate_objects

        catalog = (CRDCatalog.from_directory(crds, experimental=experimental) if crds is not None
                   else CRDCatalog.bundled(experimental=experimental))
        violations = validate_objects(rendering.objects(), catalog)
        if fmt == "json":
            problems = [{"apiVersion": v.api_version, "kind": v.kind, "namespace": v.namespace, "name": v.name,
                         "path": v.path, "message": v.message} for v in violations]
            sys.stdout.write(json.dumps({"intent": name, "platform": target, "crds": catalog.source,
                                         "objects": len(rendering.documents), "valid": not violations,
                                         "problems": problems}, indent=2) + "\n")
        if violations:
            raise OutputError(
                f"{len(violations)} rendered object problem{'s' if len(violations) != 1 else ''} for {target}:\n"
                + "\n".join(str(v) for v in violations)
            )
        _err(f"{name}: intent is valid; {len(rendering.documents)} {target} objects accepted by {catalog.source}")
    except MeshgenError as exc:
        raise _fail(exc) from None


@app.command()
def diff(
    intent_paths: IntentArgs,
    source: Annotated[
        str, typer.Option("--from", help="The platform you are on (see meshgen platforms).", show_default=False)
    ],
    target: Annotated[str, typer.Option("--to", help="The platform you consider.", show_default=False)],
    fmt: Annotated[str, _format_option(("text", "json"))] = "text",
    json_output: Annotated[bool, typer.Option("--json", hidden=True, help="Same as -o json.")] = False,
    changes_only: Annotated[
        bool, typer.Option("--changes-only", help="Leave out features that fare the same on both platforms.")
    ] = False,
) -> None:
    """What changes when the intent moves from one platform to another.

    Per service and feature: what becomes approximated or lost, what is gained, from the capability
    data of both platforms; and the objects each side emits.
    """
    from meshgen import pipeline
    from meshgen.errors import MeshgenError
    from meshgen.gcpause import gc_paused
    from meshgen.platform_diff import compare_plans, diff_json, diff_tables

    try:
        loaded = _load(intent_paths)
        with gc_paused():
            result = compare_plans(pipeline.plan(loaded.intent, _platform(source)),
                                   pipeline.plan(loaded.intent, _platform(target)))
    except MeshgenError as exc:
        raise _fail(exc) from None
    if json_output or fmt == "json":
        sys.stdout.write(diff_json(result))
        return
    from rich.console import Console

    console = Console(width=max(Console().width, 160) if sys.stdout.isatty() else 200)
    for renderable in diff_tables(result, show_unchanged=not changes_only):
        console.print(renderable)


class Threshold(str, Enum):
    """The least severity that makes ``meshgen analyze`` exit 1."""

    error = "error"
    warning = "warning"
    info = "info"


@app.command()
def analyze(
    intent_paths: IntentArgs,
    fmt: Annotated[str, _format_option(("text", "json", "sarif"), what=" (sarif: SARIF 2.1.0)")] = "text",
    failure_threshold: Annotated[
        Threshold, typer.Option("--failure-threshold", help="Exit 1 when a finding is at least this severe.")
    ] = Threshold.error,
    suppress: Annotated[
        Optional[list[str]],
        typer.Option(
            "--suppress",
            help="Ignore a code (MG103), or a code for one service (MG103=namespace/name); repeatable.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Check the intent's whole call graph (timeouts, retries, authorization, routing, operations).

    Prints one line per finding, ``file:line:col: CODE severity: message``, and a summary line; codes
    are explained in docs/analyzers.md. Exit 1 when a finding reaches --failure-threshold.
    """
    from meshgen import __version__
    from meshgen.analyze import Severity, parse_suppress
    from meshgen.analyze import analyze as run_analyzers
    from meshgen.analyze.formats import text, to_json, to_sarif
    from meshgen.errors import EXIT_INVALID, MeshgenError
    from meshgen.gcpause import gc_paused
    from meshgen.loader import load

    try:
        wanted = parse_suppress(suppress or [])
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--suppress") from None
    try:
        with gc_paused():
            analysis = run_analyzers(load(intent_paths, keep_nodes=True), wanted)
    except MeshgenError as exc:
        raise _fail(exc) from None
    if fmt == "json":
        sys.stdout.write(to_json(analysis))
    elif fmt == "sarif":
        sys.stdout.write(to_sarif(analysis, __version__))
    else:
        sys.stdout.write(text(analysis))
    if analysis.at_least(Severity(failure_threshold.value)):
        raise typer.Exit(EXIT_INVALID)


@app.command("import")
def import_(
    paths: Annotated[
        list[Path],
        typer.Argument(help="Manifest files, directories of them, or - for stdin (kubectl get -o yaml lists too).", show_default=False, metavar="PATH..."),
    ],
    source: Annotated[
        Optional[str],
        typer.Option("--from", help="The mesh the manifests are for (meshgen platforms lists them); default: guessed from their API groups."),
    ] = None,
    allow_loss: Annotated[
        bool, typer.Option("--allow-loss", help="Write the intent even though parts of the manifests were dropped.")
    ] = False,
) -> None:
    """Turn existing mesh manifests into an intent: the intent on stdout, what it could not carry on stderr."""
    from meshgen.errors import IntentLossError, MeshgenError
    from meshgen.importing.run import import_manifests

    try:
        if source:
            _platform(source)
        result = import_manifests(paths, source)
        print_findings("\n".join("  " + f.text() for f in result.findings))
        losses = result.losses
        if losses and not allow_loss:
            count = len(losses)
            raise IntentLossError(
                f"{count} part{'s' if count != 1 else ''} of the {result.platform} manifests cannot be carried into the "
                "intent (LOST / not-understood above); nothing was written. Pass --allow-loss to write the intent without them."
            )
        sys.stdout.write(result.text)
    except MeshgenError as exc:
        raise _fail(exc) from None


@app.command()
def cost(
    intent_paths: IntentArgs,
    platform: Annotated[
        Optional[str], typer.Option("--platform", "-p", help="Only this platform; default: every registered one.")
    ] = None,
    nodes: Annotated[
        Optional[int],
        typer.Option("--nodes", min=1, help="Cluster nodes, for per-node components; default: spec.context.nodes."),
    ] = None,
    figures: Annotated[
        Optional[Path],
        typer.Option("--figures", help="A figures file replacing the shipped figures of the platforms it names."),
    ] = None,
    fmt: Annotated[str, _format_option(("text", "json"))] = "text",
) -> None:
    """Estimate what each platform adds: memory and CPU (sidecars per pod, node agents per node,
    waypoints, control plane with the intent's replicas) and p99 latency along the longest call paths.

    Figures (low / typical / high, each with its source) ship in meshgen/data/cost-figures.yaml;
    they are workload-dependent, so --figures FILE replaces them per platform.
    """
    from meshgen.cost.engine import estimate
    from meshgen.cost.figures import load as load_figures
    from meshgen.cost.output import to_json, to_text
    from meshgen.errors import MeshgenError, UsageError
    from meshgen.platforms.registry import names

    try:
        targets = [_platform(platform)] if platform else list(names())
        table = load_figures(figures)
        loaded = _load(intent_paths)
        context = loaded.intent.spec.context
        count = nodes if nodes is not None else (context.nodes if context is not None else None)
        missing = [t for t in targets if t not in table]
        if missing:
            raise UsageError(f"no cost figures for {', '.join(missing)}: add them to a --figures file")
        estimates = [estimate(loaded.intent, t, table[t], count) for t in targets]
    except MeshgenError as exc:
        raise _fail(exc) from None
    name = loaded.intent.metadata.name
    if fmt == "json":
        sys.stdout.write(to_json(name, count, estimates))
        return
    from rich.console import Console

    to_text(name, count, estimates, Console(width=max(Console().width, 160) if sys.stdout.isatty() else 220))


@app.command()
def graph(
    intent_paths: IntentArgs,
    fmt: Annotated[
        str, _format_option(("mermaid", "dot", "svg"), what=" (svg: drawn by Graphviz's dot, which must be installed)")
    ] = "mermaid",
    platform: Annotated[
        Optional[str],
        typer.Option("--platform", "-p", help="Colour what this platform approximates (amber) or loses (red)."),
    ] = None,
) -> None:
    """Draw the allowed-call graph: services by namespace, gateways, external callers, allowFrom edges.

    Edges carry each allowFrom entry's ports and L7 constraints; services carry their versions,
    weights, routes and mirrors; dashed edges are gateway routes. With --platform, nodes and edges
    are coloured from the findings render computes for that platform.
    """
    from meshgen import pipeline
    from meshgen.callgraph import diagram, dot, mermaid
    from meshgen.errors import MeshgenError

    try:
        if platform:
            _platform(platform)
        loaded = _load(intent_paths)
        findings = pipeline.plan(loaded.intent, platform).findings if platform else None
        drawing = diagram.build(loaded.intent, findings, platform)
        if fmt == "mermaid":
            out = mermaid.render(drawing)
        else:
            out = dot.render(drawing)
            if fmt == "svg":
                out = dot.svg(out)
    except MeshgenError as exc:
        raise _fail(exc) from None
    sys.stdout.write(out if out.endswith("\n") else out + "\n")


@app.command()
def advise(
    intent_paths: IntentArgs,
    fmt: Annotated[str, _format_option(("text", "json"))] = "text",
) -> None:
    """Rank every target platform (no mesh included) for this intent, with each score's breakdown.

    Reasons a person can check: size (services, pods, namespaces, teams), the features used and how
    each platform expresses them (the capability findings), and spec.context (teams, languages,
    mtlsRequired, clusters, vms, kernelVersion, latencySlo, operationalCapacity). The rules and
    their sources are in meshgen/data/advise-rules.yaml.
    """
    from meshgen.advise import advise as run_advise
    from meshgen.advise.output import to_json, to_text
    from meshgen.errors import MeshgenError
    from meshgen.gcpause import gc_paused

    try:
        loaded = _load(intent_paths)
        with gc_paused():
            result = run_advise(loaded.intent)
    except MeshgenError as exc:
        raise _fail(exc) from None
    if fmt == "json":
        sys.stdout.write(to_json(result))
        return
    from rich.console import Console

    to_text(result, Console(width=max(Console().width, 160) if sys.stdout.isatty() else 200))


@app.command()
def schema() -> None:
    """Print the JSON Schema of the intent (for editors: # yaml-language-server: $schema=...)."""
    from meshgen.schema import schema_json

    sys.stdout.write(schema_json())


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="The new repository's folder (missing or empty).")],
    platform: Annotated[
        Optional[str], typer.Option("--platform", "-p", help="Target platform of the starter intent; default: istio.")
    ] = None,
    name: Annotated[
        Optional[str], typer.Option("--name", help="Application name (metadata.name); default: the folder's name.")
    ] = None,
    namespace: Annotated[Optional[str], typer.Option("--namespace", help="Namespace; default: the name.")] = None,
) -> None:
    """Create a starter repository: intent, schema, Makefile, pre-commit config, CI workflow."""
    from meshgen.errors import MeshgenError
    from meshgen.platforms.registry import DEFAULT
    from meshgen.scaffold import init_project

    try:
        created = init_project(directory, platform=_platform(platform or DEFAULT), name=name, namespace=namespace)
    except MeshgenError as exc:
        raise _fail(exc) from None
    for path in created:
        _err(f"created {path}")
    _err(f"next: cd {directory} && make render && git init && git add . (then pre-commit install)")


@app.command()
def platforms(
    fmt: Annotated[str, _format_option(("text", "json"))] = "text",
    json_output: Annotated[bool, typer.Option("--json", hidden=True, help="Same as -o json.")] = False,
) -> None:
    """List the target platforms and what each supports (the capability matrix)."""
    if json_output or fmt == "json":
        from meshgen.report import matrix_json

        sys.stdout.write(matrix_json())
        return
    from rich.console import Console
    from rich.table import Table

    from meshgen.platforms.registry import all_platforms
    from meshgen.report import matrix_rows

    console = Console(width=200)
    registered = all_platforms()
    for name, plat in registered.items():
        console.print(f"[bold]{name}[/bold]: {plat.description} (control plane in {plat.control_plane_namespace})")
    table = Table(title="Capability matrix (native / approximated / not-expressible; per port protocol where it differs)", show_lines=False)
    table.add_column("feature")
    table.add_column("intent")
    for name in registered:
        table.add_column(name)
    for row in matrix_rows():
        table.add_row(row["feature"], row["intent"], *(_cell_text(row[p], row[f"{p}_protocols"]) for p in registered))
    console.print(table)


def _cell_text(level: str, protocols: str) -> str:
    return f"{level} ({protocols})" if protocols else level


def main() -> None:
    """Console-script entry point."""
    app()


__all__ = ["app", "main", "print_findings"]
