"""A cheap, deterministic proxy evaluator: a stand-in for training, for tests and teaching.

It is NOT a predictor of real accuracy. It turns a spec into a plausible-looking "accuracy" in
microseconds, from the analytic parameter count and the layer types, so that a search loop, its log,
the reward of Eq. 3 and the RENA-vs-random comparison can be exercised without training anything:

    capacity  c = 1 - exp(-(params / p0) ** 0.71)                     (saturates around 10 x p0)
    quality   q = 1 - prod over live layers (1 - w[type]) ** depth
                (depth = num_layers, default 1; module search: x stages x repeats of the stacked module)
    accuracy    = chance + (ceiling - chance) * c * (0.55 + 0.45 q) + noise

w[type] says how much a layer type helps on the task (its registry entry's proxy_weight; KWS: conv /
GRU high, FC low, pooling none; CIFAR: convolutions high, pooling and skip connections a little); p0
and the ceiling (the task granularity's proxy["p0"] and proxy["ceiling"]) set the scale of a "big
enough" network. noise is a deterministic pseudo-random offset in [-noise, +noise] derived from
spec.key(), so equal specs always score the same. test_accuracy is the accuracy plus a second offset.
Calibration (noise aside): KWS FC (1,12) 0.65 (the paper's baseline); Conv2d (3,32,4,8,1,3) AvgPool2d
0.94; GRU (2,64,1) 0.93; the CIFAR layer-search baseline 0.92 (the paper: ~91%); the one-branch module
baseline 0.86.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass, field

import rena_lib.arch.registry as registry
from rena_lib.arch.graph import granularity_of, live_layers
from rena_lib.arch.spec import Spec
from rena_lib.evaluation import EvalResult

__all__ = ["ProxyEvaluator", "proxy_accuracy"]


def _unit(key: str, salt: str) -> float:
    """A deterministic number in [0, 1) from a spec key."""
    return int(hashlib.sha1(f"{salt}:{key}".encode()).hexdigest()[:8], 16) / 2**32


def proxy_accuracy(spec: Spec, noise: float = 0.01, salt: str = "val") -> float:
    """The proxy accuracy of a (valid) spec, in [0, 1]; see the module docstring for the formula."""
    from rena_lib.metrics import measure

    gran = granularity_of(spec)
    p0, ceiling = gran.proxy.get("p0", 10000.0), gran.proxy.get("ceiling", 0.95)
    params = measure(spec)["params"]
    c = 1.0 - math.exp(-((params / p0) ** 0.71))
    repeats = spec.stack["stages"] * spec.stack["repeats"] if spec.granularity == "module" else 1
    miss = 1.0
    for i in live_layers(spec):
        layer = spec.layers[i - 1]
        entry = registry.layer_type(gran.family, layer.type)
        w = entry.proxy_weight if entry is not None else 0.0
        miss *= (1.0 - w) ** (repeats * int(layer.get("num_layers", 1)))
    q = 1.0 - miss
    chance = 1.0 / registry.get_task(spec.task).classes
    acc = chance + (ceiling - chance) * c * (0.55 + 0.45 * q)
    acc += noise * (2.0 * _unit(spec.key(), salt) - 1.0)
    return min(1.0, max(0.0, acc))


@dataclass
class ProxyEvaluator:
    """Evaluator (spec -> EvalResult) using proxy_accuracy; a documented stand-in for training.

    delay adds a sleep per child (seconds) to imitate training time in demos; fail_on lists spec keys that
    raise, to demonstrate failed children.
    """

    noise: float = 0.01
    delay: float = 0.0
    fail_on: set[str] = field(default_factory=set)

    def __call__(self, spec: Spec) -> EvalResult:
        """Score spec with the proxy (validation accuracy) and a second noisy draw (test accuracy)."""
        t0 = time.perf_counter()
        if spec.key() in self.fail_on:
            raise RuntimeError(f"proxy evaluator told to fail on {spec.key()}")
        if self.delay:
            time.sleep(self.delay)
        acc = proxy_accuracy(spec, self.noise, "val")
        test = proxy_accuracy(spec, self.noise, "test")
        return EvalResult(performance=acc, test_accuracy=test, epochs=0, wall_time=time.perf_counter() - t0)
