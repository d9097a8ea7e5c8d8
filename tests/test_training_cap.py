"""The per-child wall-clock cap of a Budget (max_seconds)."""

import pytest

from rena_lib.arch import from_paper_notation
from rena_lib.data.speech_commands import RESPLIT_SALT
from rena_lib.training import Budget, KwsEvaluator


def test_max_seconds_is_validated_and_round_trips():
    budget = Budget.smoke("kws").replace(max_seconds=12.5)
    assert Budget.from_json(budget.to_json()) == budget
    with pytest.raises(ValueError, match="max_seconds"):
        Budget("kws", epochs=1, batch_size=8, max_seconds=0)


def test_a_capped_child_stops_early_and_says_so(data_dir):
    spec = from_paper_notation("FC (1,12)", "kws")
    capped = Budget("kws", epochs=50, batch_size=64, max_train_examples=512, augment=False, max_seconds=1e-3)
    ev = KwsEvaluator(capped, data_dir / "speech_commands", split_salt=RESPLIT_SALT)
    result = ev(spec)
    assert not result.failed
    assert result.extras["time_capped"] is True
    assert result.epochs == 1  # stopped after the first batch of the first epoch
    assert 0.0 <= result.performance <= 1.0
    uncapped = ev.__class__(capped.replace(epochs=1, max_seconds=None), data_dir / "speech_commands",
                            split_salt=RESPLIT_SALT)(spec)  # fmt: skip
    assert uncapped.extras["time_capped"] is False
