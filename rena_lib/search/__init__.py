"""The REINFORCE search loop (Fig. 3) with RENA and random proposers, and its resumable search log.

config = SearchConfig.paper("kws", constraints=["params < 100000", "intensity > 10"], episodes=2)
log = run_search(config, ProxyEvaluator(), "results/kws_search")
log.to_dataframe(); log.best()
"""

from rena_lib.search.config import PROPOSERS, SearchConfig
from rena_lib.search.log import LOG_FIELDS, SearchLog
from rena_lib.search.loop import check_directory, run_search
from rena_lib.search.proposers import Proposer, RandomProposer, RenaProposer, make_proposer
from rena_lib.search.reinforce import StepBaseline, returns_to_go

__all__ = [
    "LOG_FIELDS",
    "PROPOSERS",
    "Proposer",
    "RandomProposer",
    "RenaProposer",
    "SearchConfig",
    "SearchLog",
    "StepBaseline",
    "check_directory",
    "make_proposer",
    "returns_to_go",
    "run_search",
]
