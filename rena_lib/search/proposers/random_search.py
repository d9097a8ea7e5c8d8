"""Random search (footnote 4): the RENA loop with every decision uniformly random."""

from __future__ import annotations

import numpy as np

from rena_lib.actions import Proposal, UniformChooser
from rena_lib.arch.spec import Spec
from rena_lib.search.config import SearchConfig
from rena_lib.search.proposers.trajectory import TrajectoryProposer

__all__ = ["RandomProposer"]


class RandomProposer(TrajectoryProposer):
    """Random search as the paper's footnote 4 means it: the same N trajectories, episodes and top-K
    restarts as RENA (rena_lib.search.proposers.trajectory), but each step's scale values, insert /
    keep / remove and new-layer features are uniform among the allowed options (actions.UniformChooser),
    so children are random edits from the baseline's lineage, and nothing is learned. No options."""

    name = "random"

    def __init__(self, config: SearchConfig):
        super().__init__(config)

    def propose_batch(self, specs: list[Spec], rng: np.random.Generator) -> list[Proposal]:
        """A uniformly random step for each network."""
        return [UniformChooser(rng).propose(self.space, spec) for spec in specs]
