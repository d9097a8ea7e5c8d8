"""The search loop of Fig. 3 as ask / tell: a proposer proposes, the loop evaluates, logs and tells.

Every batch the loop asks the proposer (rena_lib.search.proposers: RENA, random search, regularized
evolution, TPE, or any object that follows the Proposer protocol) for candidates. Each child is checked
(an invalid one - outside the space or not buildable - is a failed child with reward 0), measured
(rena_lib.metrics, before any training: with SearchConfig.skip_beyond_bound a child far beyond a
constraint's bound is not trained and is logged failed with a "skipped beyond bound" reason), evaluated
through ``executor.map(evaluator, specs)`` unless an equal spec was evaluated before (then the result is
reused and the record says cached=True), and rewarded (Eq. 3). The records are appended to log.jsonl and
told to the proposer, which owns what comes next: RENA's trajectories, episodes, REINFORCE update and
top-K pool live in the proposer (rena_lib.search.proposers.trajectory), whose policy-log records the loop
appends to policy_log.jsonl. The budget is config.total_children (episodes x episode_size x batch_size).

Files in the search directory: config.json, log.jsonl (one record per child, flushed as it is written),
policy_log.jsonl (one record per policy update) and checkpoint/ (after every batch: the loop's counters
and the proposer's state). ``resume=True`` continues from the checkpoint: the proposer's state is
restored, so it asks again the candidates of a batch that was cut short, whose logged results are reused
(not evaluated again), and the finished log equals that of an uninterrupted run.

A child's fault is a failed child; the environment's fault stops the search with a named error
(rena_lib.evaluation.ENVIRONMENT_ERRORS): missing or corrupt data, a constrained metric that neither
rena_lib.metrics nor the evaluator provides, or every child of the first batch failing for the same reason.
If that happens before the first checkpoint of a new search, the files it wrote are removed again.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from rena_lib.arch.graph import validate
from rena_lib.arch.notation import to_paper_notation
from rena_lib.arch.spec import Spec
from rena_lib.evaluation import ENVIRONMENT_ERRORS, EvalResult, SetupError, check_result
from rena_lib.executors import Executor, LocalExecutor
from rena_lib.metrics import measure
from rena_lib.reward import METRICS, is_feasible, reward
from rena_lib.search.checkpoint import load_checkpoint, save_checkpoint
from rena_lib.search.config import SearchConfig, read_config
from rena_lib.search.log import JsonlWriter, SearchLog, finite_or_none, read_jsonl, write_jsonl_atomic
from rena_lib.search.proposers import Candidate, Proposer, check_proposer, make_proposer

__all__ = ["SKIPPED", "check_directory", "run_search"]

#: how the reason of a child not trained under SearchConfig.skip_beyond_bound starts
SKIPPED = "skipped beyond bound:"


def run_search(
    config: SearchConfig,
    evaluator: Callable[[Spec], EvalResult],
    directory: str | Path,
    resume: bool = False,
    executor: Executor | None = None,
    progress: bool = True,
    on_started: Callable[[], None] | None = None,
    proposer: Proposer | None = None,
) -> SearchLog:
    """Run (or, with resume=True, continue) a search into directory; returns its SearchLog.

    resume=True needs a search in directory (a config.json) and refuses an empty or missing one.
    on_started is called once, as soon as the search has a checkpoint (its first step is done, or it was
    resumed from one): from then on, the new search holds something worth keeping.
    proposer: a proposer object (rena_lib.search.proposers.Proposer) instead of the one config.proposer
    names in the registry; its name must equal config.proposer (which config.json records).
    """
    check_directory(config, directory, resume, proposer)
    if not callable(evaluator):
        raise ValueError(f"evaluator must be callable (spec -> EvalResult), got {type(evaluator).__name__}")
    directory = Path(directory)
    existed = directory.exists()
    _prepare(config, directory)
    search = None
    try:
        search = _Search(
            config, evaluator, directory, executor or LocalExecutor(), progress, on_started, proposer
        )
        search.run()
    except ENVIRONMENT_ERRORS:
        if search is not None:
            search.close()
        if not resume and not (directory / "checkpoint" / "state.json").exists():
            _remove_new_search(directory, existed)  # nothing of value yet: leave the folder as it was
        raise
    finally:
        if search is not None:
            search.close()
    return SearchLog(directory)


def check_directory(
    config: SearchConfig, directory: str | Path, resume: bool, proposer: Proposer | None = None
) -> None:
    """Raise ValueError if config (its proposer and options, or the proposer object given) is invalid or
    run_search(config, ..., directory, resume) would refuse the directory; reads, never writes (so a
    batch of searches can be checked before any starts)."""
    if not isinstance(config, SearchConfig):
        raise ValueError(f"config must be a SearchConfig, got {type(config).__name__}")
    config.validate()
    check_proposer(config, proposer)
    if not isinstance(resume, bool):
        raise ValueError(f"resume must be True or False, got {resume!r}")
    directory = Path(directory)
    cfg = directory / "config.json"
    if directory.exists() and not directory.is_dir():
        raise ValueError(f"{directory} is a file, not a search directory; use a new directory")
    if cfg.exists():
        if not resume:
            raise ValueError(
                f"{directory} already holds a search; pass resume=True to continue it or use a new directory"
            )
        stored = read_config(cfg).to_dict()
        diff = sorted(k for k, v in config.to_dict().items() if stored.get(k) != v)
        if diff:
            raise ValueError(f"cannot resume {directory}: the config differs from the stored one in {diff}")
        return
    if (directory / "log.jsonl").exists():
        raise ValueError(f"{directory} holds a log.jsonl but no config.json; use a new directory")
    if resume:
        raise ValueError(
            f"nothing to resume in {directory}: no search there (no config.json). Check the path, or pass "
            "resume=False to start a new search in it"
        )


def _prepare(config: SearchConfig, directory: Path) -> None:
    cfg = directory / "config.json"
    if cfg.exists():
        return  # resumed (checked by check_directory)
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / "config.json.tmp"
    tmp.write_text(config.to_json())
    tmp.replace(cfg)


def _remove_new_search(directory: Path, existed: bool) -> None:
    """Remove the files a new search wrote before it failed at its first step."""
    import shutil

    for name in ("log.jsonl", "policy_log.jsonl", "config.json"):
        (directory / (name + ".tmp")).unlink(missing_ok=True)
        (directory / name).unlink(missing_ok=True)
    shutil.rmtree(directory / "checkpoint", ignore_errors=True)
    if not existed and directory.is_dir() and not any(directory.iterdir()):
        directory.rmdir()


class _Search:
    def __init__(
        self,
        config: SearchConfig,
        evaluator,
        directory: Path,
        executor: Executor,
        progress: bool,
        on_started: Callable[[], None] | None = None,
        proposer: Proposer | None = None,
    ):
        self.config, self.evaluator, self.directory = config, evaluator, directory
        self.executor, self.progress, self.on_started = executor, progress, on_started
        self.log = self.policy_log = None
        self.space = config.search_space()
        self.constraints = config.constraint_objects()
        self.proposer = make_proposer(config) if proposer is None else proposer
        self.ckpt_dir = directory / "checkpoint"
        self.measured: dict[str, dict[str, Any]] = {}  # metrics of this batch's children, by spec key
        loaded = load_checkpoint(self.ckpt_dir)
        self.resumed = loaded is not None
        if loaded is None:
            self.state: dict[str, Any] = {"next_child_id": 0, "batches": 0, "policy_records": 0}
            self.saved_version = None
        else:
            self.state, arrays = loaded
            self.proposer.load_state(self.state["proposer"], arrays)
            self.saved_version = self.state["proposer"].get("updates")
        self._open_logs()

    # ---- files ----------------------------------------------------------------------------------
    def _open_logs(self) -> None:
        n = self.state["next_child_id"]
        path = self.directory / "log.jsonl"
        records, clean = read_jsonl(path, key="child_id")
        self.records = [r for r in records if r["child_id"] < n]
        if [r["child_id"] for r in self.records] != list(range(n)):
            raise RuntimeError(
                f"{path} does not hold children 0..{n - 1} that the checkpoint counts; cannot resume. Restore "
                f"the log from a copy, or delete {self.ckpt_dir} and resume: the search is then replayed "
                "from the children the log holds, and only the missing ones are evaluated again"
            )
        self.orphans = {r["child_id"]: r for r in records if r["child_id"] >= n}  # beyond the checkpoint
        # Logged children beyond the checkpoint stay in the file while they are reused in order (so a kill
        # during a replay loses nothing); the file is cut at the first one that differs (see _write).
        self.on_disk = dict(self.orphans)
        if [r["child_id"] for r in records] != list(range(len(records))):
            self.on_disk = {}  # not in order: keep only the records the checkpoint counts
        self.in_file = n + len(self.on_disk)
        if not clean or len(records) != self.in_file:
            write_jsonl_atomic(path, self.records + [self.on_disk[i] for i in sorted(self.on_disk)])
        self.log_path = path
        ppath = self.directory / "policy_log.jsonl"
        precords, pclean = read_jsonl(ppath, key="episode")
        kept = precords[: self.state["policy_records"]]  # the policy records the checkpoint counts
        if len(kept) != len(precords) or not pclean:
            write_jsonl_atomic(ppath, kept)
        self.cache = {r["spec_key"]: r for r in self.records if not r["failed"] and not r["cached"]}
        self.log = JsonlWriter(path)
        self.policy_log = JsonlWriter(ppath)

    def _write(self, rec: dict[str, Any]) -> None:
        """Append a record to log.jsonl, unless it is a logged child reused in place."""
        cid = rec["child_id"]
        if cid < self.in_file:
            if rec is self.on_disk.get(cid):
                return  # reused in order: already in the file
            self.log.close()  # the logged children from here on differ: cut them from the file
            write_jsonl_atomic(self.log_path, self.records[:cid])
            self.log = JsonlWriter(self.log_path)
            self.in_file, self.on_disk = cid, {}
        self.log.append(rec)
        self.in_file += 1

    def close(self) -> None:
        for writer in (self.log, self.policy_log):
            if writer is not None:
                writer.close()

    def _save(self) -> None:
        self.log.sync()
        self.policy_log.sync()
        pstate, arrays = self.proposer.state()
        version = pstate.get("updates", 0)
        write = arrays if (arrays and version != self.saved_version) else None
        self.state["proposer"] = pstate
        save_checkpoint(self.ckpt_dir, self.state, write, version)
        self.saved_version = version
        self._started()

    def _started(self) -> None:
        if self.on_started is not None:
            callback, self.on_started = self.on_started, None
            callback()

    # ---- the loop ---------------------------------------------------------------------------------
    def run(self) -> None:
        from tqdm.auto import tqdm

        cfg = self.config
        with tqdm(
            total=cfg.total_children,
            initial=self.state["next_child_id"],
            disable=not self.progress,
            desc=f"{cfg.proposer} search",
        ) as self.bar:
            self._postfix()
            if self.resumed:
                self._started()  # resumed from a checkpoint
            while self.state["next_child_id"] < cfg.total_children:
                self._batch()
                self._save()
        if self.in_file > self.state["next_child_id"]:  # logged children beyond the end of the search
            self.log.close()
            write_jsonl_atomic(self.log_path, self.records)
            self.log = JsonlWriter(self.log_path)
            self.in_file = len(self.records)

    def _postfix(self) -> None:
        ok = [r for r in self.records if not r["failed"]]
        feasible = [r for r in ok if r["feasible"]]
        best = max((r["reward"] for r in ok), default=float("nan"))
        self.bar.set_postfix(best_reward=f"{best:.4f}", feasible=len(feasible), refresh=False)

    def _ask(self) -> list[Candidate]:
        """The proposer's next batch, checked, and cut to the children the budget has left."""
        candidates = self.proposer.ask()
        name = type(self.proposer).__name__
        if not isinstance(candidates, list | tuple) or not candidates:
            raise ValueError(
                f"proposer {name}.ask() must return a non-empty list of Candidates, got {candidates!r}"
            )
        bad = [type(c).__name__ for c in candidates if not isinstance(c, Candidate)]
        if bad:
            raise ValueError(f"proposer {name}.ask() returned {bad}, not rena_lib.search.proposers.Candidate")
        left = self.config.total_children - self.state["next_child_id"]
        return list(candidates)[:left]

    def _batch(self) -> None:
        """Ask, check, evaluate, score and log one batch of candidates, then tell the proposer."""
        st = self.state
        candidates = self._ask()
        children: list[tuple[Spec | None, str | None]] = []
        for cand in candidates:
            child, reason = cand.spec, cand.reason
            if child is None:
                reason = reason or "invalid architecture: the proposer gave no spec"
            elif reason is None:
                try:
                    self.space.check(child)
                    validate(child)
                except ValueError as exc:
                    reason = f"invalid architecture: {exc}"
            children.append((child, reason))
        self.measured = {}
        batch = (
            {}
            if isinstance(self.executor, LocalExecutor)
            else self._evaluate_batch(children, st["next_child_id"])
        )
        records = []
        for n, (cand, (child, reason)) in enumerate(zip(candidates, children, strict=True)):
            rec = self._child(n, cand, child, reason, batch)
            records.append(rec)
            self.records.append(rec)
            self._write(rec)
            if not rec["failed"] and not rec["cached"]:
                self.cache.setdefault(rec["spec_key"], rec)
            self.bar.update(1)
        self._postfix()
        if st["batches"] == 0:
            self._check_first_step(records)
        for record in self.proposer.tell(candidates, records) or []:
            self.policy_log.append(finite_or_none(record))
            st["policy_records"] += 1
        st["batches"] += 1

    def _metrics(self, child: Spec) -> dict[str, Any]:
        """rena_lib.metrics of a child (measured once per batch), before any training."""
        key = child.key()
        if key not in self.measured:
            cfg = self.config
            self.measured[key] = dict(measure(child, cfg.metrics_batch_size, cfg.metrics_convention))
        return self.measured[key]

    def _beyond_bound(self, metrics: dict[str, Any]) -> str | None:
        """The reason not to train a child whose metrics are beyond a bound by config.skip_beyond_bound."""
        factor = self.config.skip_beyond_bound
        if factor is None:
            return None
        for c in self.constraints:
            v = metrics.get(c.metric)
            if v is None:
                continue  # measured by the evaluator, not before training
            limit = c.bound * factor if c.direction == "<" else c.bound / factor
            if (c.direction == "<" and v > limit) or (c.direction == ">" and v < limit):
                return (
                    f"{SKIPPED} {c.metric} = {v:g} is beyond {factor:g} x the bound of '{c}' (limit {limit:g}, "
                    "skip_beyond_bound); the child was not trained"
                )
        return None

    def _evaluate_batch(self, children, first_id: int) -> dict[str, EvalResult]:
        """Evaluate every new, valid, unique child of a step at once (executors that run in parallel)."""
        todo: dict[str, Spec] = {}
        for i, (child, reason) in enumerate(children):
            orphan = self.orphans.get(first_id + i)
            if reason is None and (orphan is None or orphan["spec_key"] != child.key()):
                key = child.key()
                if key not in self.cache and self._beyond_bound(self._metrics(child)) is None:
                    todo.setdefault(key, child)
        if not todo:
            return {}
        return dict(zip(todo, self._evaluate(list(todo.values())), strict=True))

    def _evaluate(self, specs: list[Spec]) -> list[EvalResult]:
        """executor.map, each result checked (whatever the executor: numpy numbers, NaN, booleans)."""
        results = list(self.executor.map(self.evaluator, specs))
        if len(results) != len(specs):
            raise SetupError(
                f"executor {type(self.executor).__name__} returned {len(results)} results for {len(specs)} "
                "children; an executor must return one EvalResult per spec, in order"
            )
        return [check_result(r) for r in results]

    def _check_first_step(self, records: list[dict[str, Any]]) -> None:
        """Stop a search whose first step failed entirely for one reason: the evaluator's or the data's fault."""
        evaluated = [
            r for r in records if not (r["reason"] or "").startswith(("invalid architecture", SKIPPED))
        ]
        reasons = {r["reason"] for r in evaluated}
        if (
            not all(r["failed"] for r in records)
            or len(reasons) != 1
            or len(evaluated) < min(2, len(records))
        ):
            return
        # the failed records are not kept: a resumed search must evaluate these children again
        write_jsonl_atomic(self.directory / "log.jsonl", self.records[: -len(records)])
        raise SetupError(
            f"every child of the first step failed for the same reason: {reasons.pop()}. That is not the "
            "children's fault but the evaluator's or its data's; the search stopped before its first "
            "checkpoint. Fix the cause and run the search again."
        )

    def _child(
        self, n: int, cand: Candidate, child: Spec | None, reason: str | None, batch
    ) -> dict[str, Any]:
        st, cfg = self.state, self.config
        cid = st["next_child_id"]
        st["next_child_id"] += 1
        key = None if child is None else child.key()
        parent_key = None if cand.parent is None else cand.parent.key()
        orphan = self.orphans.pop(cid, None)
        if orphan is not None and orphan["spec_key"] == key and orphan["parent_key"] == parent_key:
            return orphan  # logged before a kill: the same child, not evaluated again
        b = st["batches"]
        rec: dict[str, Any] = {
            "child_id": cid,
            "episode": b // cfg.episode_size if cand.episode is None else cand.episode,
            "step": b % cfg.episode_size if cand.step is None else cand.step,
            "trajectory": n if cand.trajectory is None else cand.trajectory,
            "proposer": cfg.proposer,
            "spec": None if child is None else child.to_dict(),
            "notation": _notation(child),
            "spec_key": key,
            "parent_key": parent_key,
            "actions": cand.actions,
            "log_prob": cand.log_prob,
            "proposal": dict(cand.info or {}),
        }
        if reason is not None:
            rec.update(_metric_columns(None))
            rec.update(_failed(reason))
            return rec
        if key in self.cache:
            hit = self.cache[key]
            rec.update({k: hit[k] for k in hit if k not in rec and k not in ("cached", "wall_time")})
            rec.update(cached=True, wall_time=0.0)
            return rec
        metrics = self._metrics(child)  # before training: a child far beyond a bound is not trained
        rec.update(_metric_columns(metrics))
        skipped = self._beyond_bound(metrics)
        if skipped is not None:
            rec.update(_failed(skipped))
            return rec
        result = batch.get(key) or self._evaluate([child])[0]
        rec.update(self._score(result, metrics))
        rec.update(cached=False, wall_time=float(result.wall_time))
        return rec

    def _score(self, result: EvalResult, metrics: dict[str, Any]) -> dict[str, Any]:
        extras = dict(result.extras or {})
        if result.failed:
            return _failed(result.reason or "evaluation failed", epochs=result.epochs, extras=extras)
        given = {k: v for k, v in extras.items() if k in METRICS}
        bad = sorted(k for k, v in given.items() if isinstance(v, bool) or not isinstance(v, int | float))
        if bad:
            return _failed(
                f"the evaluator's extras {bad} are not numbers: {[given[k] for k in bad]}",
                epochs=result.epochs,
                extras=extras,
            )
        values = {**metrics, **given}
        missing = [c for c in self.constraints if c.metric not in values]
        if missing:
            c = missing[0]
            raise SetupError(
                f"constraint '{c}' needs the metric {c.metric!r}, which rena_lib.metrics does not compute "
                f"and the evaluator ({type(self.evaluator).__name__}) did not return in EvalResult.extras. "
                f"Use an evaluator that measures {c.metric}, or drop the constraint"
            )
        try:
            r = reward(result.performance, values, self.constraints, self.config.penalty_base)
            feasible = is_feasible(values, self.constraints)
        except ValueError as exc:
            return _failed(f"cannot score the child: {exc}", epochs=result.epochs, extras=extras)
        return {
            **{k: v for k, v in values.items() if k not in metrics},
            "performance": float(result.performance),
            "test_accuracy": result.test_accuracy,
            "reward": float(r),
            "feasible": bool(feasible),
            "failed": False,
            "reason": None,
            "epochs": result.epochs,
            "extras": extras,
        }


def _notation(spec: Spec | None) -> str | None:
    if spec is None:
        return None
    try:
        return to_paper_notation(spec)
    except (KeyError, ValueError, TypeError):
        return None


def _metric_columns(metrics: dict[str, Any] | None) -> dict[str, Any]:
    names = ("params", "non_trainable_params", "size_bytes", "flops", "bytes_accessed", "intensity")
    if metrics is None:
        return dict.fromkeys(names)
    return {k: v for k, v in metrics.items() if k != "batch_size"}


def _failed(reason: str, epochs: int = 0, extras: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "performance": 0.0,
        "test_accuracy": None,
        "reward": 0.0,
        "feasible": False,
        "failed": True,
        "reason": reason,
        "cached": False,
        "epochs": epochs,
        "wall_time": 0.0,
        "extras": extras or {},
    }
