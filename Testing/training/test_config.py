"""Recipe configs: dotted overrides reach nested keys, a typo'd key is refused with the known ones
listed, and the table of recipes is read without PyTorch."""

import subprocess
import sys

import pytest
from repo_paths import CORE_SOURCE

from lesionai.errors import InputError
from lesionai.training.config import apply_overrides, optimizer_settings, schedule_settings

CONFIG = {"epochs": 40, "optimizer": {"name": "adamw", "lr": 0.002}, "augment": {"gamma": 0.3}, "model": {"id": "x"}}


def test_dotted_overrides_reach_nested_keys_and_leave_the_original_alone():
    changed = apply_overrides(CONFIG, {"epochs": 5, "optimizer.lr": 0.001, "augment.noise": 0.05,
                                       "model.output.thresholds": {"frontal": 0.3}})
    assert changed["epochs"] == 5 and changed["optimizer"] == {"name": "adamw", "lr": 0.001}
    assert changed["augment"] == {"gamma": 0.3, "noise": 0.05}
    assert changed["model"]["output"] == {"thresholds": {"frontal": 0.3}}
    assert CONFIG["optimizer"]["lr"] == 0.002 and "noise" not in CONFIG["augment"]


def test_a_typo_in_a_top_level_key_is_refused_with_the_known_keys():
    with pytest.raises(InputError, match=r"Unknown config key 'epoch' .* known keys: .*epochs"):
        apply_overrides(CONFIG, {"epoch": 5})
    with pytest.raises(InputError, match="Unknown config key 'optimiser'"):
        apply_overrides(CONFIG, {"optimiser.lr": 0.1})


def test_keys_the_loop_or_the_recipe_understands_may_be_added():
    added = apply_overrides(CONFIG, {"max_cases": 6, "threads": 1, "schedule.name": "constant", "phantoms": 2},
                            optional_keys=("phantoms",))
    assert added["max_cases"] == 6 and added["schedule"] == {"name": "constant"} and added["phantoms"] == 2


def test_a_path_through_a_value_is_refused():
    with pytest.raises(InputError, match="'epochs' is 40, not a block of keys"):
        apply_overrides(CONFIG, {"epochs.first": 1})


def test_optimizer_and_schedule_blocks_over_the_recipe_defaults():
    assert optimizer_settings(CONFIG, {"weight_decay": 0.05}) == {"name": "adamw", "lr": 0.002, "weight_decay": 0.05}
    assert optimizer_settings({"learning_rate": 0.01}) == {"name": "adamw", "lr": 0.01, "weight_decay": 1e-4}
    assert schedule_settings({"warmup_epochs": 2}) == {"name": "cosine", "warmup_epochs": 2}
    assert schedule_settings({}, {"name": "constant"}) == {"name": "constant", "warmup_epochs": 0}


def test_recipe_names_are_listed_without_pytorch():
    script = ("import sys; sys.modules['torch'] = None\n"
              "from lesionai.training.catalog import RECIPE_NAMES\n"
              "from lesionai.training import recipes\n"
              "from lesionai import cli\n"
              "print(','.join(RECIPE_NAMES))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=CORE_SOURCE, check=True)
    assert "lung-segmentation" in done.stdout and "finding-classifier" in done.stdout
