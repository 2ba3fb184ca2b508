"""The Brixia-scored radiographs of the zone-severity recipe, with the zones the pipeline finds in them."""

from __future__ import annotations

import numpy as np

from ...severity.preprocess import normalize_percentile, resize_plane
from ...severity.zones import ZONE_LETTERS
from .cxr_data import load_plane, pipeline_zones


class ScoredSet:
    """Radiographs with zone scores at the model's input size.

    ``images`` (N, 1, H, W) float in [0, 1], ``zones`` (N, 1, H, W) 0-6, ``senior`` and ``junior``
    (N, 6) int scores (junior -1 where missing), ``groups`` patient groups, ``stems`` case names.
    """

    def __init__(self, images, zones, senior, junior, groups, stems):
        self.images, self.zones, self.senior, self.junior = images, zones, senior, junior
        self.groups, self.stems = groups, stems

    def __len__(self) -> int:
        return len(self.stems)

    def subset(self, indices) -> ScoredSet:
        indices = np.asarray(indices)
        return ScoredSet(self.images[indices], self.zones[indices], self.senior[indices], self.junior[indices],
                         [self.groups[i] for i in indices], [self.stems[i] for i in indices])



def is_scored(case) -> bool:
    return case.zone_scores("senior") is not None



def _scores(case, rater: str) -> np.ndarray:
    scores = case.zone_scores(rater)
    return np.full(len(ZONE_LETTERS), -1) if scores is None else scores.astype(int)



def load_scored_set(cases, root, shape: tuple[int, int], threads: int | None, log) -> ScoredSet:
    """Images and pipeline zones of ``cases`` at ``shape`` (zones found at the stored resolution);
    radiographs the pipeline refuses are left out (and logged)."""
    zone_maps = pipeline_zones(cases, root, threads, log)
    cases = [case for case in cases if case.stem in zone_maps]
    images = [normalize_percentile(resize_plane(load_plane(case.image_path(root)), shape)) for case in cases]
    zones = [resize_plane(zone_maps[case.stem][1], shape, nearest=True) for case in cases]
    return ScoredSet(np.stack(images)[:, None].astype(np.float32), np.stack(zones)[:, None].astype(np.float32),
                     np.array([_scores(c, "senior") for c in cases]), np.array([_scores(c, "junior") for c in cases]),
                     [c.row.get("patient_group") or c.stem for c in cases], [c.stem for c in cases])
