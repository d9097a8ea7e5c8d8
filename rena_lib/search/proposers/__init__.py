"""Proposers of the ask / tell search loop, by name (registry) or as objects.

* base: the Proposer protocol and Candidate;
* trajectory: N trajectories, episodes and the top-K pool (Fig. 3), shared by
* rena (policy network + REINFORCE) and random_search (footnote 4);
* evolution: regularized evolution (Real et al. 2019);
* tpe: Optuna's TPE over whole architectures;
* registry: make_proposer, register_proposer, proposer_names, check_proposer.
"""

from rena_lib.search.proposers.base import Candidate, Proposer, check_protocol
from rena_lib.search.proposers.evolution import RegularizedEvolution
from rena_lib.search.proposers.random_search import RandomProposer
from rena_lib.search.proposers.registry import (
    check_proposer,
    make_proposer,
    proposer_names,
    register_proposer,
)
from rena_lib.search.proposers.rena import MissingGradientError, RenaProposer
from rena_lib.search.proposers.tpe import TPEProposer, sample_architecture
from rena_lib.search.proposers.trajectory import TrajectoryProposer

__all__ = [
    "Candidate",
    "MissingGradientError",
    "Proposer",
    "RandomProposer",
    "RegularizedEvolution",
    "RenaProposer",
    "TPEProposer",
    "TrajectoryProposer",
    "check_proposer",
    "check_protocol",
    "make_proposer",
    "proposer_names",
    "register_proposer",
    "sample_architecture",
]
