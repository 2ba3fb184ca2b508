"""The model registry: which models exist, where their weights live, and proof they are intact.

One JSON file (``models/registry.json``, validated by ``models/registry.schema.json``) lists every
model with its version, weights file, SHA-256, size, licence, training data, input contract
(shape, spacing, intensity normalisation) and output labels. Code asks the registry for a model by
id and gets back a verified file path; nothing else hard-codes a model path or a label list.

Weights are either *bundled* (no ``url``; ``file`` is relative to the folder holding the registry)
or *downloaded* (``url`` given; ``file`` is a bare name in :func:`cache_dir`). Downloads go to a
temporary file that is checked and then atomically renamed, so the cache never holds a partial or
unverified model and later runs work offline.

>>> registry = ModelRegistry.load()            # the packaged registry  # doctest: +SKIP
>>> onnx_path = registry.path("cxr-lung-unet")  # verified weights       # doctest: +SKIP
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import http.client
import json
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lesionai.errors import ModelError

MODELS_DIR = Path(__file__).resolve().parent / "models"
REGISTRY_PATH = MODELS_DIR / "registry.json"
SCHEMA_PATH = MODELS_DIR / "registry.schema.json"
SCHEMA_VERSION = 1
CACHE_ENV = "LESIONAI_CACHE"
DOWNLOAD_TIMEOUT_S = 60
_CHUNK_BYTES = 1 << 20

DownloadProgress = Callable[[int, int], None]
"""Called as ``on_progress(bytes_received, bytes_expected)`` while a model downloads."""


@dataclass(frozen=True)
class DatasetCredit:
    """A data set the weights were trained on, with its licence."""

    name: str
    license: str
    url: str


@dataclass(frozen=True)
class InputContract:
    """What the network expects.

    ``shape`` excludes the batch axis (e.g. ``(1, 256, 256)`` for [C, H, W]); ``None`` marks a free
    axis. ``spacing_mm`` is the training voxel spacing for the spatial axes of ``shape`` (or None
    when the model is resolution-agnostic). ``normalization`` is e.g.
    ``{"method": "percentile", "low": 0.5, "high": 99.5}``. ``name`` is the ONNX input name, or
    None for the model's first input.
    """

    shape: tuple[int | None, ...]
    spacing_mm: tuple[float, ...] | None
    normalization: Mapping[str, Any]
    name: str | None = None


@dataclass(frozen=True)
class OutputContract:
    """What the network returns: ONNX output ``names`` in order, ``labels`` {value: name} and
    ``thresholds`` {label name: probability}, operating points chosen on the training split, and
    for score classifiers the ``score_rule`` (``argmax``, ``expected`` or ``median``) that turns probabilities
    into a score."""

    names: tuple[str, ...]
    labels: Mapping[int, str] = field(default_factory=dict)
    description: str | None = None
    thresholds: Mapping[str, float] = field(default_factory=dict)
    score_rule: str | None = None


@dataclass(frozen=True)
class ModelEntry:
    """One model of the registry (see ``models/registry.schema.json`` for every field)."""

    id: str
    task: str
    version: str
    file: str
    sha256: str
    size_bytes: int
    license: str
    training_data: tuple[DatasetCredit, ...]
    input: InputContract
    output: OutputContract
    metrics: Mapping[str, float]
    recipe: str
    created: datetime.date
    url: str | None = None
    description: str | None = None

    @property
    def bundled(self) -> bool:
        """True when the weights ship inside the package rather than being downloaded."""
        return self.url is None

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> ModelEntry:
        """Build an entry from a schema-valid registry record."""
        return cls(
            id=record["id"],
            task=record["task"],
            version=record["version"],
            file=record["file"],
            sha256=record["sha256"],
            size_bytes=int(record["size_bytes"]),
            license=record["license"],
            training_data=tuple(DatasetCredit(**credit) for credit in record["training_data"]),
            input=_input_from_dict(record["input"]),
            output=_output_from_dict(record["output"]),
            metrics={name: float(value) for name, value in record["metrics"].items()},
            recipe=record["recipe"],
            created=_parse_date(record["created"], record["id"]),
            url=record.get("url"),
            description=record.get("description"),
        )

    def to_dict(self) -> dict[str, Any]:
        """The registry record of this entry (inverse of :meth:`from_dict`)."""
        record = {
            "id": self.id,
            "task": self.task,
            "version": self.version,
            "file": self.file,
            "sha256": self.sha256,
            "size_bytes": self.size_bytes,
            "license": self.license,
            "training_data": [vars(credit).copy() for credit in self.training_data],
            "input": _input_to_dict(self.input),
            "output": _output_to_dict(self.output),
            "metrics": dict(self.metrics),
            "recipe": self.recipe,
            "created": self.created.isoformat(),
        }
        return _without_none({**record, "url": self.url, "description": self.description})


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of checking one model: ``ok`` means it can be used now, offline."""

    id: str
    ok: bool
    message: str


class ModelRegistry:
    """Models by id, and their verified weight files.

    ``models_dir`` is the folder bundled ``file`` paths are relative to (the registry's folder).
    """

    def __init__(self, entries: Iterable[ModelEntry], models_dir: Path | str, source: Path | None = None):
        self._entries = {entry.id: entry for entry in entries}
        self.models_dir = Path(models_dir)
        self.source = source

    @classmethod
    def load(cls, path: Path | str | None = None) -> ModelRegistry:
        """Read and validate a registry file (default: the one packaged with LesionAI).

        Raises ModelError naming the file and the schema violation when it is missing, not JSON,
        or not a valid registry.
        """
        registry_path = Path(path) if path is not None else REGISTRY_PATH
        entries = validate_document(_read_document(registry_path), registry_path)
        return cls(entries, registry_path.parent, source=registry_path)

    @property
    def entries(self) -> list[ModelEntry]:
        """All entries, sorted by id."""
        return [self._entries[model_id] for model_id in sorted(self._entries)]

    def get(self, model_id: str) -> ModelEntry:
        """The entry with this id; ModelError listing the known ids otherwise."""
        try:
            return self._entries[model_id]
        except KeyError:
            known = ", ".join(sorted(self._entries)) or "none"
            raise ModelError(f"Unknown model '{model_id}'. Known models: {known}.") from None

    def __contains__(self, model_id: str) -> bool:
        return model_id in self._entries

    def for_task(self, task: str) -> list[ModelEntry]:
        """Entries for ``task``, newest version first (empty when there are none)."""
        matching = [entry for entry in self._entries.values() if entry.task == task]
        return sorted(matching, key=lambda entry: _version_key(entry.version), reverse=True)

    def path(self, model_id: str, download: bool = True, on_progress: DownloadProgress | None = None) -> Path:
        """Path of the model's weights, checked against the registry's size and SHA-256.

        Bundled weights are checked in place. Downloaded weights come from the cache; when they are
        absent (or do not match) and ``download`` is true they are fetched from ``url`` first.
        Raises ModelError when the file is missing, corrupt, or cannot be downloaded.
        """
        entry = self.get(model_id)
        if entry.bundled:
            return _checked_bundled_file(entry, self.models_dir / entry.file)
        return _cached_or_downloaded(entry, cache_dir() / entry.file, download, on_progress)

    def verify(self) -> list[VerifyResult]:
        """Check every model without downloading anything; one result per entry, sorted by id."""
        return [self._verify_one(entry) for entry in self.entries]

    def _verify_one(self, entry: ModelEntry) -> VerifyResult:
        try:
            checked = self.path(entry.id, download=False)
        except ModelError as error:
            return VerifyResult(entry.id, False, str(error))
        return VerifyResult(entry.id, True, f"{entry.id} {entry.version}: {checked} matches the registry.")


def cache_dir() -> Path:
    """Folder for downloaded models: ``$LESIONAI_CACHE`` if set, else ``~/.cache/lesionai``."""
    configured = os.environ.get(CACHE_ENV)
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "lesionai"


def use_cache_folder(folder, environ=None) -> Path:
    """Make ``folder`` the model cache (``$LESIONAI_CACHE`` in ``environ``, default ``os.environ``, so
    child processes inherit it) unless the user has set that variable; returns the cache in use.

    Inside Slicer the modules pass a folder under the application's cache (``slicer.app.cachePath``).
    """
    environ = os.environ if environ is None else environ
    if not environ.get(CACHE_ENV):
        environ[CACHE_ENV] = str(folder)
    return Path(environ[CACHE_ENV]).expanduser()


def sha256_of(path: Path | str) -> str:
    """Lower-case hex SHA-256 of a file, read in chunks (safe for large weights)."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(_CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def register_model(registry_path: Path | str, entry: ModelEntry | Mapping[str, Any]) -> ModelEntry:
    """Add ``entry`` to the registry file, replacing any entry with the same id.

    The file is created when absent; an existing one must already be valid. The whole new document
    is validated before anything is written, then written pretty-printed with sorted keys and a
    trailing newline through a temporary file and an atomic rename, so a failure never leaves a
    half-written registry. Raises ModelError naming the schema violation.
    """
    path = Path(registry_path)
    record = entry.to_dict() if isinstance(entry, ModelEntry) else dict(entry)
    document = _existing_document(path)
    others = [model for model in document["models"] if model["id"] != record.get("id")]
    document["models"] = sorted([*others, record], key=lambda model: str(model.get("id")))
    entries = validate_document(document, path)
    _write_atomically(path, json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    return next(candidate for candidate in entries if candidate.id == record["id"])


def validate_document(document: Any, source: Path | str) -> list[ModelEntry]:
    """Check a parsed registry against the schema and return its entries.

    Raises ModelError naming ``source``, the offending location and the schema's message.
    """
    import jsonschema

    error = jsonschema.exceptions.best_match(_validator().iter_errors(document))
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or "top level"
        raise ModelError(f"Model registry {source} is invalid at {where}: {error.message}")
    _check_unique_ids(document["models"], source)
    return [ModelEntry.from_dict(record) for record in document["models"]]


# ---------------------------------------------------------------------------------------------
# Reading and writing the registry file


def _read_document(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"Model registry {path} does not exist.") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ModelError(f"Model registry {path} is not valid JSON: {error}") from None


def _existing_document(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {"schema_version": SCHEMA_VERSION, "models": []}
    document = _read_document(path)
    validate_document(document, path)
    return document


@functools.lru_cache(maxsize=1)
def _validator():
    import jsonschema

    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


def _check_unique_ids(records: list[Mapping[str, Any]], source: Path | str) -> None:
    seen: set[str] = set()
    for record in records:
        if record["id"] in seen:
            raise ModelError(f"Model registry {source} lists model '{record['id']}' more than once.")
        seen.add(record["id"])


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)  # mkstemp creates 0600; the registry is a shared, packaged file
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# ---------------------------------------------------------------------------------------------
# Record <-> dataclass conversion


def _input_from_dict(record: Mapping[str, Any]) -> InputContract:
    spacing = record["spacing_mm"]
    return InputContract(
        shape=tuple(record["shape"]),
        spacing_mm=None if spacing is None else tuple(float(value) for value in spacing),
        normalization=dict(record["normalization"]),
        name=record.get("name"),
    )


def _input_to_dict(contract: InputContract) -> dict[str, Any]:
    spacing = None if contract.spacing_mm is None else list(contract.spacing_mm)
    record = {"shape": list(contract.shape), "spacing_mm": spacing, "normalization": dict(contract.normalization)}
    return {**record, "name": contract.name} if contract.name is not None else record


def _output_from_dict(record: Mapping[str, Any]) -> OutputContract:
    labels = {int(value): name for value, name in record.get("labels", {}).items()}
    return OutputContract(names=tuple(record["names"]), labels=labels, description=record.get("description"),
                          thresholds={name: float(value) for name, value in record.get("thresholds", {}).items()},
                          score_rule=record.get("score_rule"))


def _output_to_dict(contract: OutputContract) -> dict[str, Any]:
    record: dict[str, Any] = {"names": list(contract.names)}
    if contract.labels:
        record["labels"] = {str(value): name for value, name in sorted(contract.labels.items())}
    if contract.thresholds:
        record["thresholds"] = dict(contract.thresholds)
    if contract.score_rule:
        record["score_rule"] = contract.score_rule
    return _without_none({**record, "description": contract.description})


def _without_none(record: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in record.items() if value is not None}


def _parse_date(text: str, model_id: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise ModelError(f"Model '{model_id}' has an impossible creation date '{text}' (use YYYY-MM-DD).") from None


def _version_key(version: str) -> tuple[int, int, int, int]:
    core, _, prerelease = version.partition("+")[0].partition("-")
    major, minor, patch = (int(part) for part in core.split("."))
    return major, minor, patch, 0 if prerelease else 1


# ---------------------------------------------------------------------------------------------
# Verifying and downloading weights


def _checked_bundled_file(entry: ModelEntry, weights: Path) -> Path:
    if not weights.is_file():
        raise ModelError(
            f"Model file for '{entry.id}' is missing: {weights}. Reinstall the LesionAI extension "
            "(or the lesionai package) to restore it."
        )
    problem = _mismatch(entry, weights)
    if problem:
        raise ModelError(
            f"Model file {weights} for '{entry.id}' is corrupt ({problem}). Reinstall the LesionAI "
            "extension (or the lesionai package) to restore the original file."
        )
    return weights


def _cached_or_downloaded(entry: ModelEntry, cached: Path, download: bool, on_progress) -> Path:
    problem = _mismatch(entry, cached) if cached.is_file() else "not downloaded yet"
    if not problem:
        return cached
    if not download:
        raise ModelError(
            f"Model '{entry.id}' is not available offline: {cached} is {_describe(problem)}. "
            f"Run once with network access to download it from {entry.url}, or place the file there by hand."
        )
    _download(entry, cached, on_progress)
    return cached


def _describe(problem: str) -> str:
    return problem if problem == "not downloaded yet" else f"corrupt ({problem})"


def _mismatch(entry: ModelEntry, weights: Path) -> str:
    """Empty string when ``weights`` matches the entry, else what differs."""
    size = weights.stat().st_size
    if size != entry.size_bytes:
        return f"{size} bytes, the registry expects {entry.size_bytes}"
    if sha256_of(weights) != entry.sha256:
        return "its SHA-256 differs from the registry"
    return ""


def _download(entry: ModelEntry, target: Path, on_progress: DownloadProgress | None) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(descriptor, "wb") as stream:
            digest, size = _fetch(entry, stream, on_progress)
            stream.flush()
            os.fsync(stream.fileno())
        _check_download(entry, digest, size)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _fetch(entry: ModelEntry, stream, on_progress: DownloadProgress | None) -> tuple[str, int]:
    """Copy ``entry.url`` into ``stream``; return (sha256 hex, bytes received)."""
    digest, received = hashlib.sha256(), 0
    try:
        with urllib.request.urlopen(entry.url, timeout=DOWNLOAD_TIMEOUT_S) as response:
            for chunk in iter(lambda: response.read(_CHUNK_BYTES), b""):
                received += len(chunk)
                if received > entry.size_bytes:
                    raise ModelError(_download_mismatch(entry, f"more than the expected {entry.size_bytes} bytes"))
                digest.update(chunk)
                stream.write(chunk)
                if on_progress is not None:
                    on_progress(received, entry.size_bytes)
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as error:
        raise ModelError(
            f"Could not download model '{entry.id}' from {entry.url}: {getattr(error, 'reason', error)}. "
            f"Check the network connection, or download the file by hand to {cache_dir() / entry.file}."
        ) from error
    return digest.hexdigest(), received


def _check_download(entry: ModelEntry, digest: str, size: int) -> None:
    if size != entry.size_bytes:
        raise ModelError(_download_mismatch(entry, f"{size} bytes instead of {entry.size_bytes}"))
    if digest != entry.sha256:
        raise ModelError(_download_mismatch(entry, "a SHA-256 different from the registry"))


def _download_mismatch(entry: ModelEntry, problem: str) -> str:
    return (
        f"The download of model '{entry.id}' from {entry.url} has {problem}; nothing was saved. "
        "The file on the server may have changed or the transfer was cut: try again, or update LesionAI."
    )
