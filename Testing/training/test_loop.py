"""The one training loop: run folder, best/last checkpoints by the monitored metric, optimiser and
schedule from the config (old flat keys too), device choice, and every recipe fits the contract."""

import importlib
import json

import numpy as np
import pytest
import yaml

torch = pytest.importorskip("torch")
pytest.importorskip("monai")

from lesionai.errors import InputError  # noqa: E402
from lesionai.runtime import OnnxModel  # noqa: E402
from lesionai.training.catalog import RECIPE_MODULES  # noqa: E402
from lesionai.training.contracts import TrainingRecipe, runs_on_the_loop  # noqa: E402
from lesionai.training.device import training_device  # noqa: E402
from lesionai.training.loop import build_optimizer, build_schedule, fit  # noqa: E402


class ToyRecipe:
    """A linear map of 4 numbers whose validation scores are scripted, to check what the loop keeps."""

    NAME, MONITOR = "toy", "val_score"
    INPUT_NAMES, OUTPUT_NAMES = ["values"], ["logits"]

    def __init__(self, scores, mode="max"):
        self.scores, self.MONITOR_MODE, self.states = list(scores), mode, []

    def build_network(self, config):
        return torch.nn.Linear(4, 1)

    def example_inputs(self, config):
        return (torch.zeros(1, 4),)

    def load_data(self, run):
        generator = torch.Generator().manual_seed(0)
        return torch.rand(8, 4, generator=generator, dtype=torch.float32).to(run.device)

    def train_epoch(self, network, optimizer, data, run, epoch):
        loss = network(data).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return {"loss": loss.item(), "lambda": 0.5}

    def validate(self, network, data, run, epoch):
        self.states.append({key: value.clone() for key, value in network.state_dict().items()})
        return {self.MONITOR: self.scores[epoch]} if self.MONITOR else {}

    def final_metrics(self, network, data, run, best):
        return {"best_epoch": best.epoch, "kept_score": best.score}


def toy_config(**extra) -> dict:
    return {"recipe": "toy", "seed": 3, "epochs": 3, "device": "cpu", "onnx_name": "toy.onnx",
            "optimizer": {"name": "sgd", "lr": 0.1}, **extra}


def test_fit_keeps_the_best_epoch_and_writes_the_run_folder(tmp_path):
    recipe = ToyRecipe([0.2, 0.9, 0.5])
    metrics = fit(recipe, toy_config(), tmp_path / "run")
    run_dir = tmp_path / "run"
    assert metrics == {"best_epoch": 1, "kept_score": 0.9, "device": "cpu"}
    assert json.loads((run_dir / "metrics.json").read_text()) == metrics
    assert yaml.safe_load((run_dir / "config.yaml").read_text())["recipe"] == "toy"
    best, last = torch.load(run_dir / "best.pt"), torch.load(run_dir / "last.pt")
    assert all(torch.equal(best[key], recipe.states[1][key]) for key in best)
    assert all(torch.equal(last[key], recipe.states[2][key]) for key in last)
    lines = [line for line in (run_dir / "train.log").read_text().splitlines() if " epoch " in line]
    assert len(lines) == 3 and "loss " in lines[0] and "val_score 0.2000" in lines[0] and "lambda 0.5000" in lines[0]
    network = recipe.build_network({})
    network.load_state_dict(best)
    values = np.random.default_rng(0).random((2, 4), dtype=np.float32)
    expected = network(torch.from_numpy(values)).detach().numpy()
    np.testing.assert_allclose(OnnxModel(run_dir / "toy.onnx").run({"values": values})["logits"], expected, rtol=1e-5)


def test_a_lower_is_better_metric_and_an_unmonitored_recipe(tmp_path):
    assert fit(ToyRecipe([0.5, 0.1, 0.3], mode="min"), toy_config(), tmp_path / "min")["best_epoch"] == 1
    recipe = ToyRecipe([])
    recipe.MONITOR = None
    assert fit(recipe, toy_config(), tmp_path / "last") == {"best_epoch": 2, "kept_score": None, "device": "cpu"}


def test_a_metric_that_is_never_defined_keeps_the_first_epoch(tmp_path):
    assert fit(ToyRecipe([None, float("nan"), None]), toy_config(), tmp_path / "run")["best_epoch"] == 0


def test_a_run_without_epochs_is_refused(tmp_path):
    with pytest.raises(InputError, match="at least 1 epoch"):
        fit(ToyRecipe([]), toy_config(epochs=0), tmp_path / "run")


def learning_rates(config: dict, defaults=None) -> list[float]:
    network = torch.nn.Linear(2, 1)
    optimizer = build_optimizer(network, config, defaults)
    schedule = build_schedule(optimizer, config, defaults and {"name": "cosine", "warmup_epochs": 2})
    rates = []
    for _ in range(config["epochs"]):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        if schedule is not None:
            schedule.step()
    return rates


def test_flat_keys_of_older_configs_give_the_same_optimiser_and_schedule():
    flat = {"epochs": 6, "learning_rate": 0.002, "weight_decay": 0.05, "warmup_epochs": 2}
    nested = {"epochs": 6, "optimizer": {"name": "adamw", "lr": 0.002, "weight_decay": 0.05},
              "schedule": {"name": "cosine", "warmup_epochs": 2}}
    assert learning_rates(flat) == learning_rates(nested)
    assert learning_rates(flat)[:3] == pytest.approx([0.001, 0.002, 0.002])
    network = torch.nn.Linear(2, 1)
    assert build_optimizer(network, flat).defaults["weight_decay"] == 0.05
    assert learning_rates({"epochs": 3, "optimizer": {"lr": 0.1}, "schedule": {"name": "constant"}}) == [0.1] * 3


def test_schedules_follow_their_names():
    annealed = learning_rates({"epochs": 4, "optimizer": {"lr": 1.0}, "schedule": {"name": "cosine-annealing"}})
    assert annealed == pytest.approx([1.0, 0.5 * (1 + np.cos(np.pi / 4)), 0.5, 0.5 * (1 + np.cos(3 * np.pi / 4))])


@pytest.mark.parametrize("config, message", [
    ({"epochs": 1, "optimizer": {"name": "adagrad", "lr": 0.1}}, "optimizer.name 'adagrad' is unknown"),
    ({"epochs": 1, "optimizer": {"lr": 0.1, "momentum_typo": 0.9}}, "do not fit adamw"),
    ({"epochs": 1, "optimizer": {"lr": 0.1}, "schedule": {"name": "step"}}, "schedule.name 'step' is unknown"),
    ({"epochs": 1}, "sets no learning rate"),
    ({"epochs": 1, "learning_rate": 0.1, "optimizer": {"lr": 0.2}}, "keep only optimizer.lr"),
])
def test_broken_optimiser_and_schedule_settings_are_refused(config, message):
    with pytest.raises(InputError, match=message):
        learning_rates(config)


def test_training_device_follows_the_config():
    assert training_device({"device": "cpu"}).type == "cpu"
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert training_device({}).type == expected
    if not torch.cuda.is_available():
        with pytest.raises(InputError, match="sees no CUDA GPU"):
            training_device({"device": "cuda"})
    with pytest.raises(InputError, match="not a training device"):
        training_device({"device": "tpu"})


@pytest.mark.parametrize("name", sorted(RECIPE_MODULES))
def test_every_recipe_provides_the_training_contract(name):
    module = importlib.import_module(RECIPE_MODULES[name])
    assert isinstance(module, TrainingRecipe) and runs_on_the_loop(module) and module.NAME == name
