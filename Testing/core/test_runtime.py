"""ONNX inference through onnxruntime, on tiny networks built with the onnx helper API."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import onnxruntime
import pytest

pytest.importorskip("onnx")  # the test networks are built with the onnx helper API

from onnx import TensorProto, helper  # noqa: E402

from lesionai.errors import InputError, LesionAIError, ModelError  # noqa: E402
from lesionai.process import python_env  # noqa: E402
from lesionai.registry import ModelRegistry  # noqa: E402
from lesionai.runtime import OnnxModel, clear_session_cache, default_providers, load_model, resolve_threads  # noqa: E402


def write_doubling_model(path):
    """A network mapping ``image`` [N, 1, H, W] to ``doubled`` = 2 * image and ``total`` = its sum."""
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 1, "H", "W"])
    doubled = helper.make_tensor_value_info("doubled", TensorProto.FLOAT, ["N", 1, "H", "W"])
    total = helper.make_tensor_value_info("total", TensorProto.FLOAT, [])
    two = helper.make_tensor("two", TensorProto.FLOAT, [], [2.0])
    nodes = [
        helper.make_node("Mul", ["image", "two"], ["doubled"]),
        helper.make_node("ReduceSum", ["doubled"], ["total"], keepdims=0),
    ]
    graph = helper.make_graph(nodes, "doubling", [image], [doubled, total], initializer=[two])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path.write_bytes(model.SerializeToString())
    return path


@pytest.fixture
def onnx_path(tmp_path):
    return write_doubling_model(tmp_path / "doubling.onnx")


@pytest.fixture
def registry(tmp_path, onnx_path):
    data = onnx_path.read_bytes()
    record = {
        "id": "doubling",
        "task": "test-doubling",
        "version": "0.1.0",
        "file": onnx_path.name,
        "sha256": hashlib.sha256(data).hexdigest(),
        "size_bytes": len(data),
        "license": "Apache-2.0",
        "training_data": [],
        "input": {"shape": [1, None, None], "spacing_mm": None, "normalization": {"method": "none"}},
        "output": {"names": ["doubled", "total"]},
        "metrics": {},
        "recipe": "none.yaml",
        "created": "2025-01-01",
    }
    path = tmp_path / "registry.json"
    path.write_text(json.dumps({"schema_version": 1, "models": [record]}), encoding="utf-8")
    clear_session_cache()
    yield ModelRegistry.load(path)
    clear_session_cache()


def test_model_runs_and_names_outputs(onnx_path):
    model = OnnxModel(onnx_path, threads=1)
    image = np.arange(12, dtype=np.float32).reshape(1, 1, 3, 4)
    outputs = model.run({"image": image})
    assert model.input_names == ["image"]
    assert model.output_names == ["doubled", "total"] == list(outputs)
    np.testing.assert_allclose(outputs["doubled"], 2 * image)
    assert outputs["total"] == pytest.approx(2 * image.sum())


def test_idle_worker_threads_sleep_instead_of_spinning(onnx_path):
    options = OnnxModel(onnx_path, threads=2)._session.get_session_options()
    assert options.intra_op_num_threads == 2
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"


def test_float64_input_is_cast_to_the_declared_type(onnx_path):
    image = np.full((1, 1, 2, 2), 0.25)
    outputs = OnnxModel(onnx_path).run({"image": image})
    assert outputs["doubled"].dtype == np.float32
    np.testing.assert_allclose(outputs["doubled"], 0.5)


def test_cuda_is_preferred_only_when_available(onnx_path):
    cuda_available = "CUDAExecutionProvider" in onnxruntime.get_available_providers()
    assert (default_providers()[0] == "CUDAExecutionProvider") == cuda_available
    assert default_providers()[-1] == "CPUExecutionProvider"
    assert "CPUExecutionProvider" in OnnxModel(onnx_path).providers


def test_explicit_cpu_provider_is_used(onnx_path):
    assert OnnxModel(onnx_path, providers=["CPUExecutionProvider"]).providers == ["CPUExecutionProvider"]


def test_threads_come_from_argument_then_environment(onnx_path, monkeypatch):
    monkeypatch.setenv("LESIONAI_THREADS", "2")
    assert OnnxModel(onnx_path).threads == 2
    assert OnnxModel(onnx_path, threads=1).threads == 1
    monkeypatch.delenv("LESIONAI_THREADS")
    assert resolve_threads() == 0


@pytest.mark.parametrize("setting", ["many", "0", "-3"])
def test_invalid_thread_setting_is_reported(monkeypatch, setting):
    monkeypatch.setenv("LESIONAI_THREADS", setting)
    with pytest.raises(LesionAIError, match="LESIONAI_THREADS must be a positive whole number"):
        resolve_threads()


def test_file_that_is_not_onnx_is_a_model_error(tmp_path):
    fake = tmp_path / "weights.onnx"
    fake.write_bytes(b"PK\x03\x04 this is a zip, not a network")
    with pytest.raises(ModelError, match="not a valid ONNX model"):
        OnnxModel(fake)


def test_missing_model_file_is_a_model_error(tmp_path):
    with pytest.raises(ModelError, match="does not exist"):
        OnnxModel(tmp_path / "absent.onnx")


def test_wrong_input_name_is_an_input_error(onnx_path):
    with pytest.raises(InputError, match=r"expects inputs \['image'\], got \['volume'\]"):
        OnnxModel(onnx_path).run({"volume": np.zeros((1, 1, 2, 2), np.float32)})


def test_wrong_input_rank_is_an_input_error(onnx_path):
    with pytest.raises(InputError, match="could not run on the given input"):
        OnnxModel(onnx_path).run({"image": np.zeros((2, 2), np.float32)})


def test_load_model_reuses_sessions_per_thread_count(registry):
    first = load_model(registry, "doubling", threads=1)
    assert load_model(registry, "doubling", threads=1) is first
    assert load_model(registry, "doubling", threads=2) is not first
    assert first.run({"image": np.ones((1, 1, 1, 1), np.float32)})["total"] == pytest.approx(2.0)


def test_load_model_refuses_tampered_weights(registry, onnx_path):
    onnx_path.write_bytes(onnx_path.read_bytes() + b"\0")
    with pytest.raises(ModelError, match="corrupt"):
        load_model(registry, "doubling")


def test_load_model_unknown_id(registry):
    with pytest.raises(ModelError, match="Unknown model 'tripling'"):
        load_model(registry, "tripling")


def test_inference_does_not_import_torch(registry):
    script = textwrap.dedent(
        """
        import sys
        import numpy as np
        from lesionai.registry import ModelRegistry
        from lesionai.runtime import load_model
        model = load_model(ModelRegistry.load(sys.argv[1]), "doubling")
        total = model.run({"image": np.ones((1, 1, 2, 2), np.float32)})["total"]
        print(float(total), "torch" in sys.modules)
        """
    )
    completed = subprocess.run(
        [sys.executable, "-c", script, str(registry.source)],
        env={**os.environ, **python_env()},
        capture_output=True,
        text=True,
        check=True,
    )
    assert completed.stdout.split() == ["8.0", "False"]
