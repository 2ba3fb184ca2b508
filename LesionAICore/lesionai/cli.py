"""The ``lesionai`` command line (also ``python -m lesionai.cli``).

Commands: one per task of :mod:`lesionai.tasks` (``severity``, ...), ``models list|verify``, ``train``,
``export-onnx``, ``demo``.
Exit status: 0 when everything succeeded, 1 when some inputs failed, 2 for usage errors.
"""

from __future__ import annotations

import argparse
import sys
import threading
from functools import partial
from pathlib import Path

from .errors import InputError, LesionAIError
from .results import stop_cleanly_on_sigterm
from .tasks import OUTPUT_SETS, TASKS, Task


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    arguments = parser.parse_args(argv)
    if threading.current_thread() is threading.main_thread():
        stop_cleanly_on_sigterm()  # an interrupted run removes its staging folders
    try:
        return arguments.handler(arguments)
    except LesionAIError as error:
        print(f"lesionai: {error}", file=sys.stderr)
        return 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lesionai", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for task in TASKS.values():
        _add_task(commands, task)
    _add_models(commands)
    _add_train(commands)
    _add_export(commands)
    _add_demo(commands)
    return parser


def _add_task(commands, task: Task) -> None:
    command = commands.add_parser(task.name, help=task.summary)
    command.add_argument("inputs", nargs="+", type=Path, help=task.input_help)
    command.add_argument("-o", "--output", type=Path, required=True, help="output folder (one subfolder per input)")
    for option in task.options:
        command.add_argument(*option.flags, dest=option.keyword, **option.arguments)
    command.add_argument("--outputs", choices=tuple(OUTPUT_SETS), default="all",
                         help="read-back: only the files a Slicer module reads back "
                              "(used by the modules' background runs)")
    _add_run_options(command)
    command.set_defaults(handler=partial(_run_task, task))


def _add_run_options(command, overwrite: bool = True) -> None:
    if overwrite:
        command.add_argument("--overwrite", action="store_true",
                             help="replace earlier LesionAI results for the same inputs (never other files)")
    command.add_argument("--threads", type=_int_at_least(1), default=None, help="CPU threads for inference")
    command.add_argument("--progress", choices=("bar", "json", "none"), default="bar",
                         help="progress bar on stderr, JSON lines on stdout (used by Slicer), or nothing")


def _add_models(commands) -> None:
    command = commands.add_parser("models", help="list or verify the registered models")
    command.add_argument("action", choices=("list", "verify"))
    command.set_defaults(handler=_models)


def _add_train(commands) -> None:
    from .training.catalog import RECIPE_NAMES

    command = commands.add_parser("train", help="train a model from a YAML recipe (needs the 'train' extra)")
    command.add_argument("recipe", choices=RECIPE_NAMES)
    command.add_argument("--config", type=_existing_file, help="YAML config (default: the recipe's bundled config)")
    command.add_argument("--run-dir", type=Path, help="where the run's config, log, metrics and model go")
    command.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", type=_override,
                         help="override a config value by its dotted key (YAML syntax), e.g. --set epochs=5 "
                              "--set optimizer.lr=0.001; an unknown top-level key is refused")
    command.add_argument("--install", action="store_true", help="copy the model into the package and register it")
    command.set_defaults(handler=_train)


def _add_export(commands) -> None:
    command = commands.add_parser("export-onnx", help="export a training run's best checkpoint to ONNX")
    command.add_argument("run_dir", type=Path)
    command.add_argument("--install", action="store_true", help="copy the model into the package and register it")
    command.set_defaults(handler=_export)


def _add_demo(commands) -> None:
    command = commands.add_parser("demo", help="run every task on generated phantoms (and on given files)")
    command.add_argument("inputs", nargs="*", type=Path, help="optional images to add, for the task of --task")
    command.add_argument("-o", "--output", type=Path, default=Path("demo-output"))
    command.add_argument("--phantoms", type=_int_at_least(0), default=3, help="how many phantoms to generate per task")
    command.add_argument("--tasks", type=_task_list, default=tuple(TASKS),
                         help=f"comma-separated tasks to run (default: all: {','.join(TASKS)})")
    command.add_argument("--task", choices=tuple(TASKS), default="severity", help="the task the given images are for")
    _add_run_options(command, overwrite=False)
    command.set_defaults(handler=_demo)


def _run_task(task: Task, arguments) -> int:
    from .batch import run_batch

    _prepare_output_folder(arguments.output)
    outcome = run_batch(task.name, arguments.inputs, arguments.output, overwrite=arguments.overwrite,
                        threads=arguments.threads, progress=arguments.progress, options=task.pipeline_options(arguments),
                        outputs_written=arguments.outputs)
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
    from .training import recipes
    from .training.install import install_run
    from .training.runs import today

    overrides = dict(arguments.set)
    run_dir = arguments.run_dir or Path("runs") / f"{arguments.recipe}-{today()}"
    metrics = recipes.train(arguments.recipe, arguments.config, run_dir, overrides)
    print(f"{arguments.recipe}: {metrics}")
    if arguments.install:
        entry = install_run(run_dir)
        print(f"registered {entry['id']} {entry['version']} ({entry['sha256'][:12]})")
    return 0


def _export(arguments) -> int:
    from .training import recipes
    from .training.install import install_run

    path = recipes.export_run(arguments.run_dir)
    print(f"exported {path}")
    if arguments.install:
        entry = install_run(arguments.run_dir)
        print(f"registered {entry['id']} {entry['version']} ({entry['sha256'][:12]})")
    return 0


def _demo(arguments) -> int:
    from .demo import run_demo

    _prepare_output_folder(arguments.output)
    outcome = run_demo(arguments.output, arguments.inputs, phantoms=arguments.phantoms, threads=arguments.threads,
                       progress=arguments.progress, tasks=arguments.tasks, input_task=arguments.task)
    print(f"demo report: {outcome.report}")
    return 0 if not outcome.failed else 1


def _int_at_least(minimum: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected a whole number of at least {minimum}, got {text!r}")
        return value

    return parse


def _task_list(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in TASKS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown task(s) {', '.join(unknown) or text!r}; known: {', '.join(TASKS)}")
    return names


def _existing_file(text: str) -> Path:
    if not Path(text).is_file():
        raise argparse.ArgumentTypeError(f"no such file: {text}")
    return Path(text)


def _override(text: str) -> tuple[str, object]:
    """``KEY=VALUE`` with VALUE in YAML syntax (``epochs=5``, ``input_size=[128, 128]``)."""
    import yaml

    key, separator, value = text.partition("=")
    if not separator or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key.strip(), yaml.safe_load(value)
    except yaml.YAMLError as error:
        raise argparse.ArgumentTypeError(f"value of {key} is not valid YAML: {error}") from error


def _prepare_output_folder(folder: Path) -> None:
    """Create the output folder, or say clearly why it cannot be used (before any work is done)."""
    if folder.exists() and not folder.is_dir():
        raise InputError(f"Output {folder} is a file, not a folder; choose a folder for the results")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(f"Cannot create the output folder {folder}: {error.strerror}") from error


if __name__ == "__main__":
    sys.exit(main())
