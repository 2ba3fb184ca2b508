"""The shared training helpers under the names recipes have used (``from .. import common``).

Each lives in a module of its own: :mod:`.config`, :mod:`.device`, :mod:`.runs`, :mod:`.loop`,
:mod:`.export` and :mod:`.install`; new code imports from those.
"""

from .config import RECIPES_DIR, REPO_ROOT, load_config, resolve_data_root  # noqa: F401
from .device import seed_everything, training_device  # noqa: F401
from .export import export_onnx  # noqa: F401
from .install import install_run, registry_entry  # noqa: F401
from .runs import save_config, save_metrics, start_run, today  # noqa: F401


def train_epoch(network, optimizer, order, batch_size: int, batch_loss) -> float:
    """:func:`lesionai.training.loop.train_batches` (imported on use: it needs torch)."""
    from .loop import train_batches

    return train_batches(network, optimizer, order, batch_size, batch_loss)


def cosine_schedule(epochs: int, warmup: int):
    """:func:`lesionai.training.loop.cosine_schedule`."""
    from .loop import cosine_schedule as schedule

    return schedule(epochs, warmup)
