"""Speed of the spine scan check, and its answers on scans it never trained on.

Times ``ScanChecker.check`` (input preparation + network, one CPU thread) on spine phantoms and on
the development volumes, and prints the answers for the DICOM samples (CT, MR and CR files that no
training run uses) and for the phantoms.

    python benchmarks/benchmark_scan_check.py [--data ../shared/data]
"""

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "LesionAICore"))

from lesionai.errors import LesionAIError  # noqa: E402
from lesionai.imageio import read_image  # noqa: E402
from lesionai.phantoms.spine import generate_spine_phantom  # noqa: E402
from lesionai.spine.scan_check import ScanChecker  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
PHANTOMS = [(view, contrast, region) for view in ("sagittal", "axial") for contrast in ("T2w", "T1w")
            for region in ("cervical", "thoracic", "lumbar")]


def timed(checker, image) -> tuple[float, dict]:
    started = time.perf_counter()
    check = checker.check(image)
    return time.perf_counter() - started, {stage: value["label"] for stage, value in check.as_dict().items()}


def phantom_answers(checker) -> dict:
    seconds, right = [], {"anatomy": 0, "view": 0, "contrast": 0, "region": 0}
    for seed, (view, contrast, region) in enumerate(PHANTOMS, start=500):
        elapsed, labels = timed(checker, generate_spine_phantom(seed, view=view, contrast=contrast, region=region).image)
        seconds.append(elapsed)
        for stage, expected in (("anatomy", "spine"), ("view", view), ("contrast", contrast), ("region", region)):
            right[stage] += labels[stage] == expected
    return {"phantoms": len(PHANTOMS), "phantom_correct": right, "phantom_seconds_median": float(np.median(seconds))}


def volume_seconds(checker, data: Path) -> dict:
    seconds = []
    for path in sorted(data.glob("spine/**/*.nii.gz")) + sorted(data.glob("negatives/*/*.nii.gz")):
        if "seg" in path.name or "label" in path.name:
            continue
        try:
            seconds.append(timed(checker, read_image(path))[0])
        except LesionAIError:  # 4D series are refused by read_image
            continue
    return {"real_volumes": len(seconds), "real_seconds_median": float(np.median(seconds)),
            "real_seconds_max": float(np.max(seconds))}


def dicom_answers(checker, data: Path) -> dict:
    """Anatomy answers per DICOM modality ("CT: CT 9, spine 2"), and how many files were refused."""
    answers, refused = {}, 0
    for path in sorted((data / "dicom").rglob("*")):
        if not path.is_file() or path.suffix in (".txt", ".csv", ".md") or "DICOMDIR" in path.name or path.name == "README":
            continue
        try:
            image = read_image(path)
        except LesionAIError:  # no pixel data (DICOMDIR-only trees), SEG objects
            refused += 1
            continue
        key = f"{image.metadata.get('modality', '?')} {image.array.shape[1]}x{image.array.shape[2]}"
        answers.setdefault(key, []).append(timed(checker, image)[1]["anatomy"])
    summary = {key: dict(sorted(Counter(labels).items())) for key, labels in answers.items()}
    return {"answers_by_modality_and_size": summary, "refused_files": refused}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO / ".." / "shared" / "data")
    arguments = parser.parse_args()
    checker = ScanChecker(threads=1)
    timed(checker, generate_spine_phantom(0).image)  # warm-up: session creation
    results = phantom_answers(checker)
    if arguments.data.is_dir():
        results |= volume_seconds(checker, arguments.data) | {"dicom_samples": dicom_answers(checker, arguments.data)}
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
