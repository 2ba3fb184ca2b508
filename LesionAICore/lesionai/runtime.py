"""Running exported ONNX models with onnxruntime (no torch at inference time).

:class:`OnnxModel` wraps one ``onnxruntime.InferenceSession``: it picks the CUDA provider when the
installed onnxruntime offers it (else the CPU), sets the number of intra-op threads, and turns
onnxruntime's failures into LesionAI errors. :func:`load_model` opens a registry model after
verifying its weights, and reuses sessions so a batch of images does not reload the network.

>>> model = load_model(ModelRegistry.load(), "cxr-lung-unet")              # doctest: +SKIP
>>> masks = model.run({"image": radiograph[np.newaxis]})["lung_logits"]  # doctest: +SKIP
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from lesionai.errors import DependencyError, InputError, LesionAIError, ModelError
from lesionai.registry import ModelRegistry

THREADS_ENV = "LESIONAI_THREADS"
CUDA_PROVIDER = "CUDAExecutionProvider"
CPU_PROVIDER = "CPUExecutionProvider"
_WARNINGS_AND_ABOVE = 2

# onnxruntime type names of tensor inputs -> numpy dtypes, so callers may pass e.g. float64 arrays.
_ONNX_TENSOR_DTYPES = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(float16)": np.float16,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(int16)": np.int16,
    "tensor(int8)": np.int8,
    "tensor(uint8)": np.uint8,
    "tensor(bool)": np.bool_,
}

_sessions: dict[tuple[str, str, int], OnnxModel] = {}
_sessions_lock = threading.Lock()


class OnnxModel:
    """An ONNX network ready to run.

    ``threads``: intra-op threads; None means ``$LESIONAI_THREADS`` or, if unset, onnxruntime's
    default (all cores). ``providers``: onnxruntime execution providers in order of preference;
    None means CUDA first when available, then CPU. Raises ModelError when ``path`` is missing or
    is not a valid ONNX model.
    """

    def __init__(self, path: Path | str, threads: int | None = None, providers: Sequence[str] | None = None):
        onnxruntime = _import_onnxruntime()

        self.path = Path(path)
        self.threads = resolve_threads(threads)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.log_severity_level = _WARNINGS_AND_ABOVE
        # Idle worker threads sleep instead of spinning: between the models of a radiograph the CPU goes to
        # numpy, to the thread writing the previous result and to other programs, not to busy-waiting.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        chosen = list(providers) if providers is not None else default_providers()
        self._session = _open_session(onnxruntime, self.path, options, chosen)
        self._input_dtypes = {arg.name: _ONNX_TENSOR_DTYPES.get(arg.type) for arg in self._session.get_inputs()}

    @property
    def input_names(self) -> list[str]:
        """Names of the network's inputs, in graph order."""
        return [arg.name for arg in self._session.get_inputs()]

    @property
    def output_names(self) -> list[str]:
        """Names of the network's outputs, in graph order."""
        return [arg.name for arg in self._session.get_outputs()]

    @property
    def providers(self) -> list[str]:
        """Execution providers the session actually uses, in priority order."""
        return list(self._session.get_providers())

    def run(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run the network on ``{input name: array}``; return ``{output name: array}``.

        Arrays are cast to the dtype the graph declares (e.g. float64 -> float32). Raises
        InputError when an input is missing or unknown, or when onnxruntime rejects its shape.
        """
        feeds = self._feeds(inputs)
        try:
            outputs = self._session.run(None, feeds)
        # onnxruntime's errors (InvalidArgument, Fail, ...) share no base class other than Exception.
        except Exception as error:
            raise InputError(f"Model {self.path.name} could not run on the given input: {error}") from error
        return dict(zip(self.output_names, outputs))

    def _feeds(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        expected, given = set(self.input_names), set(inputs)
        if expected != given:
            raise InputError(
                f"Model {self.path.name} expects inputs {sorted(expected)}, got {sorted(given)}."
            )
        return {name: np.asarray(array, dtype=self._input_dtypes[name]) for name, array in inputs.items()}


def load_model(registry: ModelRegistry, model_id: str, threads: int | None = None) -> OnnxModel:
    """Open a registry model after verifying its weights; sessions are reused per (file, threads).

    Raises ModelError for an unknown id or missing/corrupt/undownloadable weights.
    """
    entry = registry.get(model_id)
    weights = registry.path(model_id)
    key = (str(weights.resolve()), entry.sha256, resolve_threads(threads))
    with _sessions_lock:
        if key not in _sessions:
            _sessions[key] = OnnxModel(weights, threads=threads)
        return _sessions[key]


def clear_session_cache() -> None:
    """Forget every session opened by :func:`load_model` (frees their memory once unused)."""
    with _sessions_lock:
        _sessions.clear()


def default_providers() -> list[str]:
    """CUDA then CPU when this onnxruntime build offers CUDA, else CPU only.

    ``LESIONAI_DEVICE=cpu`` in the environment forces the CPU (the Slicer module's "Use GPU" off).
    """
    onnxruntime = _import_onnxruntime()

    if os.environ.get("LESIONAI_DEVICE", "").lower() == "cpu":
        return [CPU_PROVIDER]
    available = onnxruntime.get_available_providers()
    return [CUDA_PROVIDER, CPU_PROVIDER] if CUDA_PROVIDER in available else [CPU_PROVIDER]


def resolve_threads(threads: int | None = None) -> int:
    """Intra-op thread count: ``threads``, else ``$LESIONAI_THREADS``, else 0 (onnxruntime decides)."""
    if threads is not None:
        return _positive_threads(threads, "threads")
    configured = os.environ.get(THREADS_ENV, "").strip()
    return _positive_threads(configured, THREADS_ENV) if configured else 0


def _positive_threads(value, origin: str) -> int:
    try:
        count = int(value)
    except ValueError:
        count = 0
    if count < 1:
        raise LesionAIError(f"{origin} must be a positive whole number of threads, got '{value}'.")
    return count


def _open_session(onnxruntime, path: Path, options, providers: list[str]):
    if not path.is_file():
        raise ModelError(f"Model file {path} does not exist.")
    try:
        return onnxruntime.InferenceSession(str(path), sess_options=options, providers=providers)
    # InvalidProtobuf, InvalidGraph, Fail, ... derive directly from Exception.
    except Exception as error:
        raise ModelError(
            f"{path} is not a valid ONNX model for this onnxruntime ({error}). "
            "Re-export the model or restore the original file."
        ) from error


def _import_onnxruntime():
    try:
        import onnxruntime
    except ImportError as error:
        raise DependencyError("Inference needs onnxruntime, which is not installed. In Slicer, open a LesionAI "
                              "module (it offers to install it) or run lesionai.dependencies.ensure_in_slicer"
                              "('LesionAI'); elsewhere: pip install onnxruntime") from error
    return onnxruntime
