"""Test doubles of the search tests: a counting proxy evaluator that can simulate a kill, and a log filter."""

from rena_lib.proxy import ProxyEvaluator


class Counting:
    """The proxy evaluator, counting its calls; raises exc at call number fail_at (a simulated kill)."""

    def __init__(self, fail_at=None, exc=KeyboardInterrupt):
        self.calls, self.fail_at, self.exc = [], fail_at, exc

    def __call__(self, spec):
        if self.fail_at is not None and len(self.calls) == self.fail_at:
            raise self.exc("simulated kill")
        self.calls.append(spec.key())
        return ProxyEvaluator()(spec)


def strip(records):
    """Records without the fields that measure time."""
    return [{k: v for k, v in r.items() if k != "wall_time"} for r in records]
