"""The spinal MRI development set (``cases.csv``): images, cord masks, lesion masks, subjects.

``data_root`` holds ``cases.csv`` (one row per image, see that folder's README) and the NIfTI files.
Cord masks are stored as uint8, int16 or float; they are binarised here (> 0.5). 4D series (DWI,
fMRI) carry no masks and are not training cases.

>>> cases = read_cases(Path("../shared/data/spine"))          # doctest: +SKIP
>>> [c.subject for c in cases if c.has_cord]                    # doctest: +SKIP
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...errors import InputError
from ...geometry import Image
from ...imageio import read_image

AXIAL_CONTRASTS = ("T2*w", "MT")


@dataclass(frozen=True)
class SpineCase:
    """One row of ``cases.csv``; paths are relative to the data root."""

    path: str
    subject: str
    contrast: str
    cord_path: str
    lesion_path: str
    landmarks_path: str

    @property
    def has_cord(self) -> bool:
        return bool(self.cord_path)

    @property
    def name(self) -> str:
        """Short unique case name: subject and file stem, e.g. ``errsm_18/gre``."""
        return f"{self.subject}/{Path(self.path).name.split('.')[0]}"

    @property
    def contrast_group(self) -> str:
        """Contrast as reported: ``T1w``, ``T2w``, ``T2*w`` or ``MT``."""
        return next((group for group in ("T2*w", "MT", "T1w", "T2w") if self.contrast.startswith(group)), self.contrast)


def read_cases(root: Path) -> list[SpineCase]:
    """Every row of ``root/cases.csv``; subjects without a name get one from the file name."""
    table = Path(root) / "cases.csv"
    if not table.is_file():
        raise InputError(f"{table} not found; set data_root to the spinal MRI data folder")
    with open(table, newline="") as handle:
        return [_case(row) for row in csv.DictReader(handle)]


def cord_cases(root: Path) -> list[SpineCase]:
    """Cases with a manual or reference cord mask (3D images only)."""
    return [case for case in read_cases(root) if case.has_cord]


def _case(row: dict) -> SpineCase:
    subject = row["subject"]
    if subject.startswith("not stated"):
        subject = "sct_" + Path(row["path"]).name.split(".")[0]  # e.g. sct_t1w, sct_t2_fake_lesion
    landmarks = [p for p in row["other_label_paths"].split(";") if p.endswith("landmarks_C2_T2.nii.gz")]
    return SpineCase(row["path"], subject, row["contrast"], row["cord_seg_path"], row["lesion_seg_path"],
                     landmarks[0] if landmarks else "")


def load_image(case: SpineCase, root: Path) -> Image:
    return read_image(Path(root) / case.path)


def load_mask(relative_path: str, root: Path) -> Image:
    """A binary uint8 mask (0/1) from a mask file of any stored dtype."""
    mask = read_image(Path(root) / relative_path)
    return mask.with_array((mask.array > 0.5).astype(np.uint8))


def subjects(cases: list[SpineCase]) -> list[str]:
    """Distinct subjects in first-seen order."""
    return list(dict.fromkeys(case.subject for case in cases))
