"""Picture of the synthetic lesion generator for the model card: lesions inserted into generated
spine phantoms (sagittal T2w: hyperintense; axial T1w: hypointense), before and after, with the
returned mask outlined.

    python benchmarks/render_synthetic_lesions.py [--out Resources/Screenshots/spine_synthetic_lesions.png]
"""

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image as PILImage
from PIL import ImageDraw
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "LesionAICore"))

from lesionai.phantoms.spine import generate_spine_phantom
from lesionai.spine.grid import to_canonical
from lesionai.spine.synthetic_lesions import insert_lesions

REPO = Path(__file__).resolve().parents[1]


def canonical_with_lesions(view: str, contrast: str, seed: int):
    phantom = generate_spine_phantom(seed=seed, view=view, contrast=contrast, lesions=0)
    image = to_canonical(phantom.image, 0.75).image
    cord = to_canonical(phantom.image.with_array(phantom.cord_mask.astype(np.float32)), 0.75).image.array > 0.5
    spacing = image.geometry.spacing[::-1]
    inserted = insert_lesions(image.array, cord, spacing, contrast, np.random.default_rng(seed), count=4,
                              length_mm=(4.0, 15.0))
    return image.array, inserted, spacing


def panel(plane: np.ndarray, mask: np.ndarray, scale: tuple, low: float, high: float) -> PILImage.Image:
    grey = (np.clip((plane - low) / (high - low), 0, 1) * 255).astype(np.uint8)
    rgb = np.repeat(grey[..., None], 3, axis=2)
    outline = mask & ~ndimage.binary_erosion(mask)
    rgb[outline] = (230, 50, 40)
    size = (int(plane.shape[1] * scale[1]), int(plane.shape[0] * scale[0]))
    return PILImage.fromarray(rgb).resize(size, PILImage.NEAREST)


def sagittal_pair(seed: int) -> list[PILImage.Image]:
    before, inserted, spacing = canonical_with_lesions("sagittal", "T2w", seed)
    r = int(np.argmax(inserted.mask.sum(axis=(0, 1))))
    low, high = np.percentile(before, [1, 99.5])
    scale = (spacing[0] * 1.6, spacing[1] * 1.6)
    plane = lambda array: array[::-1, ::-1, r]  # superior up, anterior left
    empty = np.zeros_like(plane(inserted.mask), bool)
    return [panel(plane(before), empty, scale, low, high), panel(plane(inserted.image), empty, scale, low, high),
            panel(plane(inserted.image), plane(inserted.mask) > 0, scale, low, high)]


def axial_pair(seed: int) -> list[PILImage.Image]:
    before, inserted, _ = canonical_with_lesions("axial", "T1w", seed)
    k = int(np.argmax(inserted.mask.sum(axis=(1, 2))))
    cord_a, cord_r = np.argwhere(inserted.mask[k]).mean(axis=0).astype(int)
    window = (slice(max(cord_a - 40, 0), cord_a + 40), slice(max(cord_r - 40, 0), cord_r + 40))
    low, high = np.percentile(before, [1, 99.5])
    crop = lambda array: array[k][window][::-1, ::-1]  # anterior up, patient's right on the left
    empty = np.zeros_like(crop(before), bool)
    return [panel(crop(before), empty, (4, 4), low, high), panel(crop(inserted.image), empty, (4, 4), low, high),
            panel(crop(inserted.image), crop(inserted.mask) > 0, (4, 4), low, high)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default=str(REPO / "Resources/Screenshots/spine_synthetic_lesions.png"))
    pictures = sagittal_pair(11) + axial_pair(12)
    out = Path(parser.parse_args().out)
    height = max(p.height for p in pictures)
    canvas = PILImage.new("RGB", (sum(p.width for p in pictures) + 30, height + 24), (15, 15, 15))
    x = 0
    captions = ["sagittal T2w", "+ synthetic lesions", "returned mask", "axial T1w", "+ synthetic lesion",
                "returned mask"]
    draw = ImageDraw.Draw(canvas)
    for picture, caption in zip(pictures, captions):
        canvas.paste(picture, (x, 24))
        draw.text((x + 4, 4), caption, fill=(235, 235, 235))
        x += picture.width + 10
    canvas.save(out, optimize=True)
    print(out, canvas.size, out.stat().st_size, "bytes")


if __name__ == "__main__":
    main()
