"""The child an export packages, trained: under an evaluator's budget, or the best children in turn until one learns."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rena_lib.analysis import log_records
from rena_lib.arch.spec import Spec
from rena_lib.search.log import SearchLog

if TYPE_CHECKING:
    import keras


def train_model(spec: Spec, evaluator: Any) -> tuple[keras.Model, Any]:
    """Train the child under a training evaluator's budget and return (trained model, its EvalResult).

    evaluator is a rena_lib.training KwsEvaluator / CifarEvaluator (anything with evaluate_model(factory)):
    the model the factory builds is kept, so its trained weights survive the evaluator's cleanup.
    """
    from rena_lib.arch import build

    built: list[keras.Model] = []

    def factory() -> keras.Model:
        built.append(build(spec))
        return built[-1]

    result = evaluator.evaluate_model(factory)
    if result.failed or not built:
        raise RuntimeError(f"training the child failed: {result.reason}")
    return built[-1], result


def train_first_that_learns(
    log: Any, evaluator: Any, *, candidates: int = 3, min_accuracy: float = 2 / 12
) -> tuple[dict[str, Any], keras.Model, Any, list[dict[str, Any]]]:
    """Train the best children of a log in turn (feasible first, by reward) until one learns.

    A child "learns" when its validation accuracy reaches min_accuracy (default: twice chance for the 12
    KWS classes); a search scored by a proxy can rank first an architecture that cannot learn (e.g. five
    4-unit FC layers). Returns (record, trained model, EvalResult, what was tried); when no candidate
    learns, the one with the highest validation accuracy.
    """
    records = log_records(log)
    ranked = SearchLog.ranked(records, feasible_only=True)  # feasible first, each part by the best-child rule
    ranked += [r for r in SearchLog.ranked(records) if not r.get("feasible")]
    seen, tried, best = set(), [], None
    for rec in ranked:
        if len(tried) >= candidates:
            break
        if rec["spec_key"] in seen:
            continue
        seen.add(rec["spec_key"])
        model, result = train_model(Spec.from_dict(rec["spec"]), evaluator)
        acc = 0.0 if result.failed else float(result.performance)
        tried.append({"child_id": rec["child_id"], "notation": rec["notation"], "feasible": bool(rec.get("feasible")),
                      "val_accuracy": acc, "train_accuracy": result.extras.get("train_accuracy"),
                      "learned": acc >= min_accuracy})  # fmt: skip
        if best is None or acc > best[3]:
            best = (rec, model, result, acc)
        if acc >= min_accuracy:
            return rec, model, result, tried
    if best is None:
        raise ValueError("the log has no child that did not fail")
    return best[0], best[1], best[2], tried


def inference_model(model: keras.Model, spec: Spec) -> keras.Model:
    """model with the batch norms its KWS convolutions trained with folded in (as is, if it has none)."""
    from rena_lib.arch import fold_batchnorm
    from rena_lib.arch.builder import BN_SUFFIX

    if any(layer.name.endswith(BN_SUFFIX) for layer in model.layers):
        return fold_batchnorm(model, spec)
    return model
