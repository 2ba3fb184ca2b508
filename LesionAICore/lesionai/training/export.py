"""ONNX export of a trained network (what the Qt-free pipelines run with ONNX Runtime)."""

from __future__ import annotations

from pathlib import Path


def export_onnx(model, example, path: Path, input_names: list[str], output_names: list[str]) -> Path:
    """Export ``model`` in eval mode with a dynamic batch axis (TorchScript-based exporter, opset 17).

    ``example``: a tuple of input tensors, one per name of ``input_names``. Moves ``model`` to the CPU.
    """
    import torch

    model.cpu().eval()
    axes = {name: {0: "batch"} for name in input_names + output_names}
    with torch.no_grad():
        torch.onnx.export(model, example, str(path), input_names=input_names, output_names=output_names,
                          dynamic_axes=axes, opset_version=17, dynamo=False)
    return path
