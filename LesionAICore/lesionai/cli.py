"""The ``lesionai`` command line (also ``python -m lesionai.cli``).

Commands: ``severity``, ``models list|verify``, ``train``, ``export-onnx``, ``demo``.
Exit status: 0 when everything succeeded, 1 when some inputs failed, 2 for usage errors.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import LesionAIError


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    arguments = parser.parse_args(argv)
    try:
        return arguments.handler(arguments)
    except LesionAIError as error:
        print(f"lesionai: {error}", file=sys.stderr)
        return 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lesionai", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    _add_severity(commands)
    _add_models(commands)
    _add_train(commands)
    _add_export(commands)
    _add_demo(commands)
    return parser


def _add_severity(commands) -> None:
    command = commands.add_parser("severity", help="lungs, alignment and Brixia zones of chest radiographs")
    command.add_argument("inputs", nargs="+", type=Path,
                         help="DICOM files or folders, PNG/JPEG, NRRD/NIfTI radiographs")
    command.add_argument("-o", "--output", type=Path, required=True, help="output folder (one subfolder per input)")
    _add_run_options(command)
    command.set_defaults(handler=_severity)


def _add_run_options(command) -> None:
    command.add_argument("--overwrite", action="store_true",
                         help="replace earlier LesionAI results for the same inputs (never other files)")
    command.add_argument("--threads", type=int, default=None, help="CPU threads for inference")
    command.add_argument("--progress", choices=("bar", "json", "none"), default="bar",
                         help="progress bar on stderr, JSON lines on stdout (used by Slicer), or nothing")


def _add_models(commands) -> None:
    command = commands.add_parser("models", help="list or verify the registered models")
    command.add_argument("action", choices=("list", "verify"))
    command.set_defaults(handler=_models)


def _add_train(commands) -> None:
    from .training_names import RECIPE_NAMES

    command = commands.add_parser("train", help="train a model from a YAML recipe (needs the 'train' extra)")
    command.add_argument("recipe", choices=RECIPE_NAMES)
    command.add_argument("--config", type=Path, help="YAML config (default: the recipe's bundled config)")
    command.add_argument("--run-dir", type=Path, help="where the run's config, log, metrics and model go")
    command.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                         help="override a top-level config value (YAML syntax), e.g. --set epochs=5")
    command.add_argument("--install", action="store_true", help="copy the model into the package and register it")
    command.set_defaults(handler=_train)


def _add_export(commands) -> None:
    command = commands.add_parser("export-onnx", help="export a training run's best checkpoint to ONNX")
    command.add_argument("run_dir", type=Path)
    command.add_argument("--install", action="store_true", help="copy the model into the package and register it")
    command.set_defaults(handler=_export)


def _add_demo(commands) -> None:
    command = commands.add_parser("demo", help="run SeverityScoring on generated phantoms (or given files)")
    command.add_argument("inputs", nargs="*", type=Path, help="optional radiographs to add to the phantoms")
    command.add_argument("-o", "--output", type=Path, default=Path("demo-output"))
    command.add_argument("--phantoms", type=int, default=3, help="how many phantom radiographs to generate")
    _add_run_options(command)
    command.set_defaults(handler=_demo)


def _severity(arguments) -> int:
    from .batch import run_severity_batch

    outcome = run_severity_batch(arguments.inputs, arguments.output, overwrite=arguments.overwrite,
                                 threads=arguments.threads, progress=arguments.progress)
    return 0 if not outcome.failed else 1


def _models(arguments) -> int:
    from .registry import ModelRegistry

    registry = ModelRegistry.load()
    if arguments.action == "list":
        for entry in registry.entries:
            where = "bundled" if entry.bundled else entry.url
            print(f"{entry.id}\t{entry.version}\t{entry.task}\t{entry.size_bytes / 1e6:.1f} MB\t{where}")
        return 0
    results = registry.verify()
    for result in results:
        print(f"{'ok' if result.ok else 'FAILED'}\t{result.id}\t{result.message}")
    return 0 if all(result.ok for result in results) else 1


def _train(arguments) -> int:
    import yaml

    from .training import common, recipes

    overrides = {key: yaml.safe_load(value) for key, value in (item.split("=", 1) for item in arguments.set)}
    run_dir = arguments.run_dir or Path("runs") / f"{arguments.recipe}-{common.today()}"
    metrics = recipes.train(arguments.recipe, arguments.config, run_dir, overrides)
    print(f"{arguments.recipe}: {metrics}")
    if arguments.install:
        entry = common.install_run(run_dir)
        print(f"registered {entry['id']} {entry['version']} ({entry['sha256'][:12]})")
    return 0


def _export(arguments) -> int:
    from .training import common, recipes

    path = recipes.export_run(arguments.run_dir)
    print(f"exported {path}")
    if arguments.install:
        entry = common.install_run(arguments.run_dir)
        print(f"registered {entry['id']} {entry['version']} ({entry['sha256'][:12]})")
    return 0


def _demo(arguments) -> int:
    from .demo import run_demo

    outcome = run_demo(arguments.output, arguments.inputs, phantoms=arguments.phantoms,
                       overwrite=arguments.overwrite, threads=arguments.threads, progress=arguments.progress)
    print(f"demo report: {outcome.report}")
    return 0 if not outcome.failed else 1


if __name__ == "__main__":
    sys.exit(main())
