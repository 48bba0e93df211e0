"""The training evaluator: reduced-training runs under one :class:`~proxies.training.Recipe`.

One unit ``train|task|arch_id|seed|recipe`` per class (on its representative) and training seed; it
records the learning curve: training loss, accuracy and loss sum, and the held-out accuracy, per epoch.
"""

from __future__ import annotations

import math
import time
from typing import Any

from benchmarks.pipeline.proxy_units import device_label
from benchmarks.pipeline.units import Evaluator, PlanContext, Unit, unit_context
from benchmarks.storage.schema import TRAIN_METRICS, make_record
from proxies.training import Recipe
from spaces.failures import failure_message, failure_status


def eval_metric(recipe: Recipe) -> str:
    """Name of the held-out accuracy metric a recipe records (``val_acc`` or ``test_acc``)."""
    return f"{recipe.eval_split}_acc"


def perplexity_metric(recipe: Recipe) -> str | None:
    """Name of the held-out perplexity a language-modelling recipe also records (None for classification)."""
    from spaces.tasks import get_task

    if get_task(recipe.task).objective != "language_modeling":
        return None
    return f"{recipe.eval_split}_perplexity"


PERPLEXITY_CARD = {"unit": "ppl", "kind": "functional", "higher_is_better": False}
"""exp of the mean next-token cross-entropy on the held-out split (lower is better)."""


class TrainingEvaluator(Evaluator):
    """Units ``train|...`` of a build spec: one training run per class and seed."""

    kind = "train"

    def check(self, spec: Any) -> None:
        """A dry run of the recipe's network (see :func:`~.specs.dry_run`)."""
        from benchmarks.pipeline.specs import check_build_device, dry_run

        check_build_device(spec.device)
        dry_run(spec.space, spec.archs[0], spec.task, spec.recipe.build, spec.recipe.resolution)

    def bindings(self, spec: Any, executor: Any) -> dict[str, Any]:
        """The recipe, and the torch thread count."""
        threads = getattr(executor, "threads", None)
        return {f"recipe:{spec.recipe.hash}": spec.recipe.to_dict(), f"threads:{threads}": threads}

    def cards(self, spec: Any) -> dict[str, dict[str, Any]]:
        """The curve metrics and the held-out accuracy."""
        held_out = {"unit": "%", "kind": "functional", "higher_is_better": True}
        cards = {**TRAIN_METRICS, eval_metric(spec.recipe): held_out}
        perplexity = perplexity_metric(spec.recipe)
        if perplexity:
            cards[perplexity] = PERPLEXITY_CARD
        return cards

    def plan(self, spec: Any, context: PlanContext) -> tuple[list[Unit], int]:
        """One unit per class representative and training seed not yet in the journal."""
        recipe, rhash = spec.recipe.to_dict(), spec.recipe.hash[:16]
        common = {"space": context.space.name, "task": spec.task, "device": spec.device, "recipe": recipe}
        units = [
            Unit(
                f"train|{spec.task}|{arch_id}|{seed}|{rhash}", self.kind, arch=rep.string, seed=seed, **common
            )
            for arch_id, rep in context.representatives.items()
            for seed in spec.train_seeds
        ]
        return [u for u in units if u.key not in context.done], len(units)

    def run(self, unit: Unit) -> list[dict[str, Any]]:
        """Train and record every epoch's point; a run that raises is one failure record."""
        from proxies.training import train

        space, arch, base = unit_context(unit)
        recipe = Recipe.from_dict(unit.recipe)
        common = {
            **base,
            "device": device_label(unit.device),
            "fidelity": recipe.epochs,
            "protocol_hash": recipe.hash,
        }
        start = time.perf_counter()
        try:
            curve = train(space, arch, recipe, unit.seed)
        except Exception as exc:
            return [
                make_record(
                    **common,
                    metric=eval_metric(recipe),
                    value=None,
                    unit="%",
                    epoch=recipe.epochs,
                    seconds=time.perf_counter() - start,
                    status=failure_status(exc),
                    message=failure_message(exc),
                )
            ]
        records = []
        for point in curve:
            values = {
                "train_loss": point.train_loss,
                "train_acc": point.train_acc,
                "train_loss_sum": point.loss_sum,
                eval_metric(recipe): point.eval_acc,
            }
            perplexity = perplexity_metric(recipe)
            if perplexity:
                values[perplexity] = math.exp(point.eval_loss) if point.eval_loss < 700 else float("nan")
            for metric, value in values.items():
                ok = value == value  # NaN check
                records.append(
                    make_record(
                        **common,
                        metric=metric,
                        value=value if ok else None,
                        unit=_unit(metric, perplexity),
                        epoch=point.epoch,
                        seconds=point.seconds,
                        status="ok" if ok else "nan",
                        message="" if ok else "training diverged (NaN loss)",
                    )
                )
        return records

    def failed(self, unit: Unit, exc: BaseException) -> list[dict[str, Any]]:
        """One error record: the held-out accuracy at the recipe's last epoch."""
        recipe = Recipe.from_dict(unit.recipe)
        return [
            make_record(
                **unit_context(unit)[2],
                device=device_label(unit.device),
                value=None,
                seconds=0.0,
                status=failure_status(exc),
                message=failure_message(exc),
                metric=eval_metric(recipe),
                unit="%",
                fidelity=recipe.epochs,
                epoch=recipe.epochs,
                protocol_hash=recipe.hash,
            )
        ]


TRAIN_EVALUATOR = TrainingEvaluator()


def _unit(metric: str, perplexity: str | None) -> str:
    if metric == perplexity:
        return PERPLEXITY_CARD["unit"]
    return TRAIN_METRICS.get(metric, {"unit": "%"})["unit"]
