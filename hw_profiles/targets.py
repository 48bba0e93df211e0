"""Hardware targets: a registered backend that prepares a network and times, sizes and meters it.

Built-in targets (registry ``TARGETS``, plugins through the entry-point group ``archbench.devices``):

* ``cpu``: PyTorch eager on the CPU, ``torch.inference_mode``; dtypes float32, bfloat16 (only
  where oneDNN reports native bf16) and int8 (``torch.ao.quantization.quantize_dynamic``, which
  quantises ``nn.Linear`` only: convolutions stay float32, so for conv networks it is close to fp32).
* ``cuda``: PyTorch eager on GPU 0, timed with CUDA events after ``torch.cuda.synchronize()``,
  warmed up first; float32, float16, bfloat16 (where the GPU supports it). Energy from NVML.
* ``onnxruntime-cpu``: the network exported with ``torch.onnx.export`` to a temporary file and run by
  ONNX Runtime's CPU execution provider (graph optimisations on, ``intra_op_num_threads`` from the
  protocol); float32 and int8 (``onnxruntime.quantization.quantize_dynamic``, which also quantises
  convolutions). ONNX Runtime exposes no per-call allocation statistic, so its memory is unavailable.

A third-party target subclasses :class:`Target` and is exposed as ``name = "module:attr"`` under
``[project.entry-points."archbench.devices"]``, where ``attr`` is the class or an instance.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from hw_profiles.device import Device, describe
from hw_profiles.protocol import MeasurementProtocol
from spaces.registry import Registry


@dataclass
class Prepared:
    """A network ready to run on a target with a fixed input.

    ``run`` does one inference call; ``samples`` returns per-call seconds for a protocol;
    ``peak_bytes`` returns peak memory of one call (or raises ``NotImplementedError`` with the reason);
    ``synchronize`` waits for queued device work.
    """

    run: Callable[[], object]
    samples: Callable[[MeasurementProtocol], list[float]]
    peak_bytes: Callable[[], int]
    synchronize: Callable[[], None] = lambda: None
    cleanup: Callable[[], None] = lambda: None


class Target(ABC):
    """A hardware target: checks settings, describes its device and prepares networks to measure."""

    name: str
    device_kind: str = "cpu"
    dtypes: tuple[str, ...] = ("float32",)
    energy_meter: str = "rapl"

    def check(self, protocol: MeasurementProtocol) -> None:
        """Raise ValueError (one line) if ``protocol`` cannot run on this target here."""
        if protocol.dtype not in self.dtypes:
            raise ValueError(
                f"target {self.name!r} does not support dtype {protocol.dtype!r} (supported: {', '.join(self.dtypes)})"
            )
        cores = os.cpu_count() or 1
        if protocol.threads > cores:
            raise ValueError(
                f"target {self.name!r}: threads={protocol.threads} exceeds the {cores} cores here"
            )

    def device(self, threads: int | None = None) -> Device:
        """The descriptor recorded with this target's measurements (kind = target name, protocol threads)."""
        found = describe(self.device_kind)
        return replace(found, kind=self.name, threads=threads or found.threads)

    @abstractmethod
    def prepare(self, model: Any, example: Any, protocol: MeasurementProtocol) -> Prepared:
        """``model`` (a float32 ``nn.Module`` on the CPU) converted and placed for ``example`` input."""


def _warm(run: Callable[[], object], calls: int, synchronize: Callable[[], None]) -> None:
    for _ in range(calls):
        run()
    synchronize()


def _torch_dtype(name: str) -> Any:
    import torch

    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]


class TorchCPU(Target):
    """PyTorch eager on the CPU (inference mode)."""

    name = "cpu"
    dtypes = ("float32", "bfloat16", "int8")

    def check(self, protocol: MeasurementProtocol) -> None:
        """Also refuse bfloat16 where oneDNN has no native bf16 kernels."""
        super().check(protocol)
        if protocol.dtype == "bfloat16" and not _cpu_has_bf16():
            raise ValueError(
                "target 'cpu': this CPU has no native bfloat16 support (oneDNN reports none; needs AVX512-BF16 or AMX)"
            )

    def prepare(self, model: Any, example: Any, protocol: MeasurementProtocol) -> Prepared:
        """Convert dtype (or quantise), warm up, and time with torch.utils.benchmark."""
        import torch

        from hw_profiles.memory import cpu_peak_bytes
        from hw_profiles.timing import timer_samples

        model = model.eval()
        if protocol.dtype == "int8":
            with warnings.catch_warnings():
                warnings.simplefilter(
                    "ignore"
                )  # torch.ao eager quantisation is deprecated in favour of torchao
                from torch.ao.quantization import quantize_dynamic

                model = quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        elif protocol.dtype != "float32":
            model, example = model.to(_torch_dtype(protocol.dtype)), example.to(_torch_dtype(protocol.dtype))

        def run() -> object:
            with torch.inference_mode():
                return model(example)

        _warm(run, protocol.warmup, lambda: None)
        return Prepared(
            run=run,
            samples=lambda p: timer_samples(run, p.threads, p.min_run_time, p.repeats),
            peak_bytes=lambda: cpu_peak_bytes(model, (example,)),
        )


def _cpu_has_bf16() -> bool:
    import torch

    check = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
    try:
        return bool(check()) if check is not None else False
    except RuntimeError:
        return False


class TorchCUDA(Target):
    """PyTorch eager on CUDA device 0, timed with CUDA events."""

    name = "cuda"
    device_kind = "cuda"
    dtypes = ("float32", "float16", "bfloat16")
    energy_meter = "nvml"

    def check(self, protocol: MeasurementProtocol) -> None:
        """Also refuse when no GPU is visible, or bf16 on a GPU without it."""
        import torch

        if not torch.cuda.is_available():
            raise ValueError("target 'cuda' needs a CUDA GPU, but torch sees none on this machine")
        super().check(protocol)
        if protocol.dtype == "bfloat16" and not torch.cuda.is_bf16_supported():
            raise ValueError(f"target 'cuda': {torch.cuda.get_device_name(0)} does not support bfloat16")

    def prepare(self, model: Any, example: Any, protocol: MeasurementProtocol) -> Prepared:
        """Move to the GPU in the protocol's dtype, warm up and time with CUDA events."""
        import torch

        from hw_profiles.memory import cuda_peak_bytes
        from hw_profiles.timing import cuda_event_samples

        dtype = _torch_dtype(protocol.dtype)
        model = model.eval().to("cuda", dtype)
        example = example.to("cuda", dtype)

        def run() -> object:
            with torch.inference_mode():
                return model(example)

        _warm(run, max(1, protocol.warmup), torch.cuda.synchronize)
        return Prepared(
            run=run,
            samples=lambda p: cuda_event_samples(run, p.min_run_time, p.repeats),
            peak_bytes=lambda: cuda_peak_bytes(run),
            synchronize=torch.cuda.synchronize,
        )


class OnnxRuntimeCPU(Target):
    """ONNX Runtime's CPU execution provider on a ``torch.onnx`` export."""

    name = "onnxruntime-cpu"
    dtypes = ("float32", "int8")

    def check(self, protocol: MeasurementProtocol) -> None:
        """Also refuse when onnxruntime is not installed."""
        import importlib.util

        if importlib.util.find_spec("onnxruntime") is None:
            raise ValueError("target 'onnxruntime-cpu' needs onnxruntime: pip install 'archbench[onnx]'")
        super().check(protocol)

    def prepare(self, model: Any, example: Any, protocol: MeasurementProtocol) -> Prepared:
        """Export to ONNX (and quantise for int8) in a temporary folder, then open a session."""
        import onnxruntime as ort
        import torch

        from hw_profiles.timing import timer_samples

        with tempfile.TemporaryDirectory(prefix="archbench-onnx-") as tmp:
            path = Path(tmp) / "model.onnx"
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.onnx.export(
                    model.eval(), (example,), str(path), input_names=["x"], output_names=["y"], dynamo=False
                )
                if protocol.dtype == "int8":
                    from onnxruntime.quantization import QuantType, quantize_dynamic

                    quantised = Path(tmp) / "model.int8.onnx"
                    quantize_dynamic(str(path), str(quantised), weight_type=QuantType.QInt8)
                    path = quantised
            options = ort.SessionOptions()
            options.intra_op_num_threads = protocol.threads
            options.inter_op_num_threads = 1
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            options.log_severity_level = 3
            session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        feeds = {"x": example.detach().numpy()}

        def run() -> object:
            return session.run(None, feeds)

        def no_memory() -> int:
            raise NotImplementedError("ONNX Runtime exposes no per-call peak allocation statistic")

        _warm(run, protocol.warmup, lambda: None)
        return Prepared(
            run=run,
            samples=lambda p: timer_samples(run, p.threads, p.min_run_time, p.repeats),
            peak_bytes=no_memory,
        )


TARGETS: Registry[type[Target] | Target] = Registry("device", entry_point_group="archbench.devices")
TARGETS.register("cpu", TorchCPU)
TARGETS.register("cuda", TorchCUDA)
TARGETS.register("onnxruntime-cpu", OnnxRuntimeCPU)


def get_target(name: str) -> Target:
    """The target registered as ``name`` (an instance); unknown names raise a one-line KeyError."""
    entry = TARGETS.get(name)
    target = entry() if isinstance(entry, type) else entry
    if not isinstance(target, Target):
        raise TypeError(f"device {name!r} is registered as {type(target).__name__}, not a hw_profiles Target")
    return target
