"""The model registry: schema validation, verified weights, downloads into the cache."""

from __future__ import annotations

import datetime
import functools
import hashlib
import http.server
import json
import threading

import pytest

from lesionai.errors import ModelError
from lesionai.registry import (
    REGISTRY_PATH,
    ModelEntry,
    ModelRegistry,
    cache_dir,
    register_model,
    sha256_of,
    validate_document,
)

WEIGHTS = bytes(range(256)) * 40


def model_record(model_id="cxr-lung-test", data=WEIGHTS, file="lung.onnx", url=None, **changes):
    record = {
        "id": model_id,
        "task": "cxr-lung-segmentation",
        "version": "1.2.0",
        "file": file,
        "sha256": hashlib.sha256(data).hexdigest(),
        "size_bytes": len(data),
        "license": "Apache-2.0",
        "training_data": [{"name": "Example CXR set", "license": "CC-BY-4.0", "url": "https://example.org/cxr"}],
        "input": {
            "shape": [1, 256, 256],
            "spacing_mm": [1.4, 1.4],
            "normalization": {"method": "percentile", "low": 0.5, "high": 99.5},
        },
        "output": {"names": ["lung_logits"], "labels": {"0": "background", "1": "right lung", "2": "left lung"}},
        "metrics": {"val_dice": 0.96},
        "recipe": "training/recipes/cxr_lung.yaml",
        "created": "2025-01-31",
    }
    if url is not None:
        record["url"] = url
    return {**record, **changes}


def write_registry(folder, *records):
    path = folder / "registry.json"
    path.write_text(json.dumps({"schema_version": 1, "models": list(records)}), encoding="utf-8")
    return path


@pytest.fixture
def bundled(tmp_path):
    """A registry folder holding one bundled model and its intact weights."""
    (tmp_path / "lung.onnx").write_bytes(WEIGHTS)
    return ModelRegistry.load(write_registry(tmp_path, model_record())), tmp_path / "lung.onnx"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("LESIONAI_CACHE", str(folder))
    return folder


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class CutTransferHandler(http.server.BaseHTTPRequestHandler):
    """Announces the full weights but sends only half of them, then hangs up."""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(WEIGHTS)))
        self.end_headers()
        self.wfile.write(WEIGHTS[: len(WEIGHTS) // 2])
        self.close_connection = True

    def log_message(self, *args):
        pass


class LocalServer:
    def __init__(self, handler):
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.running = True

    def url(self, name):
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/{name}"

    def stop(self):
        if self.running:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.running = False


@pytest.fixture
def server(tmp_path):
    """A real HTTP server on 127.0.0.1 serving ``tmp_path/served``."""
    served = tmp_path / "served"
    served.mkdir()
    (served / "lung.onnx").write_bytes(WEIGHTS)
    local = LocalServer(functools.partial(QuietHandler, directory=str(served)))
    yield local
    local.stop()


def cache_contents(folder):
    return sorted(path.name for path in folder.rglob("*")) if folder.exists() else []


# ---------------------------------------------------------------------------------------------
# Schema


def test_packaged_registry_is_valid():
    registry = ModelRegistry.load()
    assert registry.source == REGISTRY_PATH
    assert len({entry.id for entry in registry.entries}) == len(registry.entries)


def test_empty_model_list_is_a_valid_registry():
    assert validate_document({"schema_version": 1, "models": []}, "empty.json") == []


def test_valid_entry_is_read_into_contracts(bundled):
    entry = bundled[0].get("cxr-lung-test")
    assert entry.bundled
    assert entry.input.shape == (1, 256, 256)
    assert entry.input.normalization == {"method": "percentile", "low": 0.5, "high": 99.5}
    assert entry.output.labels == {0: "background", 1: "right lung", 2: "left lung"}
    assert entry.metrics["val_dice"] == pytest.approx(0.96)
    assert entry.created == datetime.date(2025, 1, 31)


def test_entry_survives_dict_round_trip():
    record = model_record(url="https://example.org/lung.onnx", description="demo")
    assert ModelEntry.from_dict(record).to_dict() == record


@pytest.mark.parametrize(
    ("change", "expected_in_message"),
    [
        ({"sha256": "not-a-hash"}, "sha256"),
        ({"version": "1.0"}, "version"),
        ({"size_bytes": 0}, "size_bytes"),
        ({"file": "../outside.onnx"}, "file"),
        ({"input": {"shape": [1, 256, 256], "spacing_mm": None, "normalization": {"method": "percentile"}}}, "low"),
        ({"output": {"names": ["x"], "labels": {"one": "lung"}}}, "one"),
        ({"metrics": {"val_dice": "high"}}, "val_dice"),
        ({"unexpected": 1}, "unexpected"),
    ],
)
def test_schema_violation_names_file_and_problem(tmp_path, change, expected_in_message):
    path = write_registry(tmp_path, model_record(**change))
    with pytest.raises(ModelError) as caught:
        ModelRegistry.load(path)
    assert str(path) in str(caught.value)
    assert expected_in_message in str(caught.value)


def test_missing_required_field_is_reported(tmp_path):
    record = model_record()
    del record["license"]
    with pytest.raises(ModelError, match="'license' is a required property"):
        ModelRegistry.load(write_registry(tmp_path, record))


def test_downloaded_model_file_must_be_a_bare_name(tmp_path):
    record = model_record(file="sub/lung.onnx", url="https://example.org/lung.onnx")
    with pytest.raises(ModelError, match="file"):
        ModelRegistry.load(write_registry(tmp_path, record))


def test_duplicate_ids_are_rejected(tmp_path):
    with pytest.raises(ModelError, match="more than once"):
        ModelRegistry.load(write_registry(tmp_path, model_record(), model_record()))


def test_impossible_date_is_rejected(tmp_path):
    with pytest.raises(ModelError, match="2025-02-30"):
        ModelRegistry.load(write_registry(tmp_path, model_record(created="2025-02-30")))


def test_invalid_json_names_the_file(tmp_path):
    path = tmp_path / "registry.json"
    path.write_text('{"schema_version": 1, "models": [', encoding="utf-8")
    with pytest.raises(ModelError, match="not valid JSON") as caught:
        ModelRegistry.load(path)
    assert str(path) in str(caught.value)


def test_missing_registry_file_is_reported(tmp_path):
    with pytest.raises(ModelError, match="does not exist"):
        ModelRegistry.load(tmp_path / "nowhere.json")


def test_unknown_id_lists_known_models(bundled):
    with pytest.raises(ModelError, match="Unknown model 'cxr-lungs'.*cxr-lung-test"):
        bundled[0].get("cxr-lungs")


def test_for_task_lists_newest_version_first(tmp_path):
    records = [
        model_record("lung-a", version="1.10.0"),
        model_record("lung-b", version="1.9.3"),
        model_record("lung-c", version="2.0.0-rc.1"),
        model_record("spine", task="spine-segmentation"),
    ]
    registry = ModelRegistry.load(write_registry(tmp_path, *records))
    assert [entry.id for entry in registry.for_task("cxr-lung-segmentation")] == ["lung-c", "lung-a", "lung-b"]
    assert registry.for_task("nodule-detection") == []


# ---------------------------------------------------------------------------------------------
# Bundled weights


def test_intact_bundled_model_path_is_returned(bundled):
    registry, weights = bundled
    assert registry.path("cxr-lung-test") == weights
    assert sha256_of(weights) == hashlib.sha256(WEIGHTS).hexdigest()


def test_tampered_bundled_model_is_corrupt(bundled):
    registry, weights = bundled
    tampered = bytearray(WEIGHTS)
    tampered[100] ^= 0xFF
    weights.write_bytes(bytes(tampered))
    with pytest.raises(ModelError, match="corrupt.*SHA-256.*Reinstall"):
        registry.path("cxr-lung-test")


def test_truncated_bundled_model_is_corrupt(bundled):
    registry, weights = bundled
    weights.write_bytes(WEIGHTS[:1000])
    with pytest.raises(ModelError, match=f"corrupt \\(1000 bytes, the registry expects {len(WEIGHTS)}\\)"):
        registry.path("cxr-lung-test")


def test_missing_bundled_model_is_reported(bundled):
    registry, weights = bundled
    weights.unlink()
    with pytest.raises(ModelError, match="missing.*Reinstall"):
        registry.path("cxr-lung-test")


def test_verify_reports_each_model(tmp_path, cache):
    (tmp_path / "good.onnx").write_bytes(WEIGHTS)
    (tmp_path / "bad.onnx").write_bytes(WEIGHTS[:10])
    records = [
        model_record("good", file="good.onnx"),
        model_record("bad", file="bad.onnx"),
        model_record("remote", file="remote.onnx", url="http://127.0.0.1:9/remote.onnx"),
    ]
    results = {result.id: result for result in ModelRegistry.load(write_registry(tmp_path, *records)).verify()}
    assert results["good"].ok
    assert not results["bad"].ok and "corrupt" in results["bad"].message
    assert not results["remote"].ok and "not downloaded yet" in results["remote"].message
    assert cache_contents(cache) == []


# ---------------------------------------------------------------------------------------------
# Downloads


def test_cache_dir_follows_environment(cache):
    assert cache_dir() == cache


def test_download_verifies_then_serves_offline_from_cache(tmp_path, cache, server):
    registry = ModelRegistry.load(write_registry(tmp_path, model_record(url=server.url("lung.onnx"))))
    received = []
    downloaded = registry.path("cxr-lung-test", on_progress=lambda done, total: received.append((done, total)))
    assert downloaded == cache / "lung.onnx"
    assert downloaded.read_bytes() == WEIGHTS
    assert received[-1] == (len(WEIGHTS), len(WEIGHTS))
    assert cache_contents(cache) == ["lung.onnx"]

    server.stop()
    offline = ModelRegistry.load(registry.source)
    assert offline.path("cxr-lung-test") == downloaded
    assert offline.path("cxr-lung-test", download=False) == downloaded
    assert offline.verify()[0].ok


def test_checksum_mismatch_leaves_nothing_in_cache(tmp_path, cache, server):
    record = model_record(url=server.url("lung.onnx"), sha256=hashlib.sha256(b"other weights").hexdigest())
    registry = ModelRegistry.load(write_registry(tmp_path, record))
    with pytest.raises(ModelError, match="SHA-256 different from the registry; nothing was saved"):
        registry.path("cxr-lung-test")
    assert cache_contents(cache) == []


def test_cut_transfer_leaves_nothing_in_cache(tmp_path, cache):
    server = LocalServer(CutTransferHandler)
    try:
        registry = ModelRegistry.load(write_registry(tmp_path, model_record(url=server.url("lung.onnx"))))
        with pytest.raises(ModelError, match="nothing was saved|Could not download"):
            registry.path("cxr-lung-test")
    finally:
        server.stop()
    assert cache_contents(cache) == []


def test_unreachable_server_without_cache_is_reported(tmp_path, cache, server):
    registry = ModelRegistry.load(write_registry(tmp_path, model_record(url=server.url("lung.onnx"))))
    server.stop()
    with pytest.raises(ModelError, match="Could not download model 'cxr-lung-test'"):
        registry.path("cxr-lung-test")
    assert cache_contents(cache) == []


def test_offline_request_for_missing_download_is_reported(tmp_path, cache, server):
    registry = ModelRegistry.load(write_registry(tmp_path, model_record(url=server.url("lung.onnx"))))
    with pytest.raises(ModelError, match="not available offline"):
        registry.path("cxr-lung-test", download=False)
    assert cache_contents(cache) == []


def test_corrupt_cached_download_is_replaced(tmp_path, cache, server):
    cache.mkdir()
    (cache / "lung.onnx").write_bytes(WEIGHTS[:50])
    registry = ModelRegistry.load(write_registry(tmp_path, model_record(url=server.url("lung.onnx"))))
    with pytest.raises(ModelError, match="corrupt"):
        registry.path("cxr-lung-test", download=False)
    assert registry.path("cxr-lung-test").read_bytes() == WEIGHTS


# ---------------------------------------------------------------------------------------------
# Registering models


def test_register_model_creates_and_replaces_entries(tmp_path):
    path = tmp_path / "models" / "registry.json"
    register_model(path, model_record("spine-test", task="spine-segmentation"))
    register_model(path, model_record("lung-test"))
    replaced = register_model(path, ModelEntry.from_dict(model_record("lung-test", version="1.3.0")))

    text = path.read_text(encoding="utf-8")
    assert text.endswith("}\n")
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"
    registry = ModelRegistry.load(path)
    assert [entry.id for entry in registry.entries] == ["lung-test", "spine-test"]
    assert registry.get("lung-test").version == "1.3.0" == replaced.version
    assert sorted(p.name for p in path.parent.iterdir()) == ["registry.json"]


def test_register_invalid_entry_leaves_registry_untouched(tmp_path):
    path = tmp_path / "registry.json"
    register_model(path, model_record())
    before = path.read_bytes()
    with pytest.raises(ModelError, match="sha256"):
        register_model(path, model_record("second", sha256="xyz"))
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["registry.json"]


def test_register_into_broken_registry_is_refused(tmp_path):
    path = tmp_path / "registry.json"
    path.write_text("[]", encoding="utf-8")
    with pytest.raises(ModelError, match="invalid at top level"):
        register_model(path, model_record())
    assert path.read_text(encoding="utf-8") == "[]"
