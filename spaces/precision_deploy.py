"""The really quantised network of a mixed-precision architecture, for latency and size measurement.

int8 layers become torch.ao int8 kernels by FX graph-mode post-training static quantisation (the x86
backend's default qconfig: per-channel symmetric weights, per-tensor affine activations observed on
Gaussian calibration batches of the task's input shape, seeded); Conv2d-BatchNorm(-ReLU) runs are fused
first, as that flow does. bf16 layers run their own kernel in bfloat16 (weights stored in bfloat16, the
input cast in and the output cast back); fp32 layers are untouched. The result is for inference only (no
autograd through int8 kernels): proxies and training use the fake-quantised build, profiling uses this
one. Its activation scales are calibrated once, where the fake-quantised build takes them from each batch.
"""

from __future__ import annotations

import torch
import torch.nn as nn

CALIBRATION_BATCHES = 4
CALIBRATION_SIZE = 8


class Bfloat16Layer(nn.Module):
    """A layer computing in bfloat16 between float32 neighbours."""

    def __init__(self, layer: nn.Module) -> None:
        super().__init__()
        self.layer = layer.to(torch.bfloat16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(x.to(torch.bfloat16)).to(x.dtype)


def deployed(model: nn.Module, formats: dict[str, str], example: torch.Tensor) -> nn.Module:
    """``model`` (float, built by the base space) with each named layer in its format of ``formats``
    (``{module name: fp32 | bf16 | int8}``), calibrated on noise shaped like ``example``."""
    from torch.ao.quantization import QConfigMapping, get_default_qconfig
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

    model = model.eval()
    int8 = [name for name, fmt in formats.items() if fmt == "int8"]
    if int8:
        mapping = QConfigMapping()
        qconfig = get_default_qconfig("x86")
        for name in int8:
            mapping = mapping.set_module_name(name, qconfig)
        model = prepare_fx(model, mapping, (example,))
        generator = torch.Generator().manual_seed(0)
        with torch.no_grad():
            for _ in range(CALIBRATION_BATCHES):
                model(
                    torch.randn(
                        (CALIBRATION_SIZE, *example.shape[1:]), generator=generator, dtype=example.dtype
                    )
                )
        model = convert_fx(model)
    for name, fmt in formats.items():
        if fmt == "bf16":
            parent, _, child = name.rpartition(".")
            owner = model.get_submodule(parent) if parent else model
            setattr(owner, child, Bfloat16Layer(getattr(owner, child)))
    return model
