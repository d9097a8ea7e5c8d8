"""The ask / tell search loop (Fig. 3) with its proposers (RENA, random, evolution, TPE) and its resumable log.

config = SearchConfig.paper("kws", constraints=["params < 100000", "intensity > 10"], episodes=2)
log = run_search(config, ProxyEvaluator(), "results/kws_search")
log.to_dataframe(); log.best()
"""

from rena_lib.search.config import PROPOSERS, SearchConfig
from rena_lib.search.log import LOG_FIELDS, SearchLog
from rena_lib.search.loop import check_directory, run_search
from rena_lib.search.proposers import (
    Candidate,
    Proposer,
    RandomProposer,
    RegularizedEvolution,
    RenaProposer,
    TPEProposer,
    make_proposer,
    proposer_names,
    register_proposer,
)
from rena_lib.search.reinforce import StepBaseline, returns_to_go

__all__ = [
    "LOG_FIELDS",
    "PROPOSERS",
    "Candidate",
    "Proposer",
    "RandomProposer",
    "RegularizedEvolution",
    "RenaProposer",
    "SearchConfig",
    "SearchLog",
    "StepBaseline",
    "TPEProposer",
    "check_directory",
    "make_proposer",
    "proposer_names",
    "register_proposer",
    "returns_to_go",
    "run_search",
]
