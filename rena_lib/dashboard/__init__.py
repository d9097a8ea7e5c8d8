"""The controller dashboard: what the policy is learning, and where the children fall against the constraints.

Everything reads a search log (a directory with log.jsonl and policy_log.jsonl, a SearchLog, or a
DataFrame of its records), so the same plots work live during a search and later on saved results.

* :func:`controller_figure`: reward per child, mean return-to-go against the baseline b(s_t) per step
  and episode (Eq. 1-2), policy entropy per decision kind, the actions taken per episode, and progress
  (best accuracy, feasible children) of RENA and random search.
* :func:`pareto_figure`: accuracy against each constrained resource (params, FLOPs, intensity, and any
  other constrained metric the log holds, e.g. latency_ms), constraint lines, feasible children filled
  and infeasible ones hollow, and the Pareto front of every log marked; RENA and random on the same axes.
* :class:`LiveDashboard`: redraws the same figures in place in a notebook while a search runs (one
  display per figure, updated through its display id), as a callback or by polling the log files.

Figures are built with matplotlib's object API (no pyplot state), so nothing is shown twice in a notebook
and tests can inspect the returned Figure's artists: constraint lines carry the gid
``"constraint:<metric>"``, Pareto fronts ``"pareto:<name>"``, children ``"children:<name>:feasible"``.

Modules, one concept each: constraints (parsing, a log's constraints), frames (a log's children per
search), style (labels, colours, titles), pareto (Pareto front and figure), controller_tables and
controller (the controller panels' data and figure), latency_plot, figure_pair (both figures at once),
saving (PNG files) and live (LiveDashboard). Every name is importable from rena_lib.dashboard.
"""

from rena_lib.analysis import load_log, load_policy_log
from rena_lib.dashboard.constraints import constraints_of
from rena_lib.dashboard.controller import controller_figure
from rena_lib.dashboard.controller_tables import _returns_to_go as _returns_to_go
from rena_lib.dashboard.figure_pair import dashboard
from rena_lib.dashboard.latency_plot import latency_figure
from rena_lib.dashboard.live import LiveDashboard
from rena_lib.dashboard.pareto import RESOURCES, pareto_figure, pareto_front
from rena_lib.dashboard.saving import save_figures

__all__ = [
    "RESOURCES",
    "LiveDashboard",
    "constraints_of",
    "controller_figure",
    "dashboard",
    "latency_figure",
    "load_log",
    "load_policy_log",
    "pareto_figure",
    "pareto_front",
    "save_figures",
]
