"""``lesionai severity`` on images the radiograph check refuses: exit status, message, no case, --force."""

import json

import numpy as np
import pytest
from PIL import Image as PILImage

from lesionai import cli
from lesionai.phantoms.cxr import eight_bit, generate_cxr_phantom
from lesionai.phantoms.non_radiographs import corrupted_radiograph, non_radiograph


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """A good radiograph (phantom PNG), Gaussian noise and a 128 x 6000 strip of the radiograph."""
    folder = tmp_path_factory.mktemp("inputs")
    radiograph = eight_bit(generate_cxr_phantom(seed=12, size=(512, 512)).image.array[0])
    PILImage.fromarray(radiograph).save(folder / "chest.png")
    noise = np.clip(non_radiograph("gaussian noise", 2), 0, 255).astype(np.uint8)
    PILImage.fromarray(noise).save(folder / "noise.png")
    strip = corrupted_radiograph(radiograph.astype(np.float32), "strip 128x6000", 0)
    PILImage.fromarray(np.clip(strip, 0, 255).astype(np.uint8)).save(folder / "strip.png")
    return folder


def test_a_refused_image_exits_1_with_the_reasons_and_writes_no_case(inputs, tmp_path, capsys):
    status = cli.main(["severity", str(inputs / "noise.png"), "-o", str(tmp_path), "--progress", "none"])
    error = capsys.readouterr().err
    assert status == 1
    assert list(tmp_path.iterdir()) == []
    assert "noise.png: Not scored" in error and "look like noise" in error and "--force" in error


def test_force_scores_the_image_and_keeps_the_reasons_as_warnings(inputs, tmp_path):
    status = cli.main(["severity", str(inputs / "strip.png"), "-o", str(tmp_path), "--progress", "none", "--force"])
    assert status == 0
    record = json.loads((tmp_path / "strip" / "result.json").read_text())
    assert record["global_score"] is not None
    assert any(w.startswith("scored anyway (force): the image is") and "longer than wide" in w
               for w in record["warnings"])
    check = record["radiograph_check"]  # the verdict the force overrode, with what it rests on
    assert check["passed"] is False and any("longer than wide" in reason for reason in check["reasons"])
    assert check["measures"]["aspect_ratio"] > 3.0


def test_a_batch_scores_the_good_input_and_exits_1_for_the_refused_one(inputs, tmp_path, capsys):
    arguments = [str(inputs / "noise.png"), str(inputs / "chest.png"), "-o", str(tmp_path), "--progress", "json"]
    status = cli.main(["severity", *arguments])
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert status == 1
    assert sorted(path.name for path in tmp_path.iterdir() if path.is_dir()) == ["chest"]
    chest = json.loads((tmp_path / "chest" / "result.json").read_text())
    assert chest["global_score"] is not None
    assert chest["radiograph_check"]["passed"] is True and chest["radiograph_check"]["reasons"] == []
    assert chest["radiograph_check"]["measures"]["lungs_found"] == 2
    errors = [event for event in events if event["event"] == "error"]
    assert len(errors) == 1 and errors[0]["type"] == "RefusedInputError" and "noise.png" in errors[0]["message"]
    assert [event["input"] for event in events if event["event"] == "result"] == [str(inputs / "chest.png")]


def test_the_severity_command_offers_force():
    parser = cli.build_parser()
    assert parser.parse_args(["severity", "x.png", "-o", "out", "--force"]).force is True
    assert parser.parse_args(["severity", "x.png", "-o", "out"]).force is False
