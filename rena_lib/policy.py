"""The RENA policy network of Fig. 1 (section 4.1), an ordinary Keras model.

* **Network embedding.** Every (feature, value) pair of the search space - layer type and sources
  included - has a row in one trainable lookup table; a layer's embedding is the sum of the rows of its
  type and feature values. The embedding LSTM (32 units) reads the layer embeddings in order; its output
  at the last layer is the network embedding.
* **Scale LSTM** (128 units): one step per (layer, scalable feature), layers in order. Its input is the
  network embedding, the embedding LSTM's output at that layer and the embedding of the feature's current
  value. Its output goes through the scale lookup table, a Dense layer whose block of columns for feature
  f holds the logits over f's allowed values. Scale decisions do not feed each other (the LSTM's state
  carries the context), so the whole scale action is one sequence computation.
* **Insert-remove LSTM** (128 units): an extra first step chooses insert / keep / remove; for insert,
  further steps choose the new layer's type and every feature of that type (sources included); for
  remove, one step chooses the layer. Each step's input is the network embedding and the embedding of
  the previous decision, so the new layer's features depend on its type and on each other. Its lookup
  table is a Dense layer with one block of columns per head (action, type, each feature, remove).
* Masks (``rena_lib.actions.walk``): no insert at MAX_LAYERS, no remove of the only layer, sources only
  of earlier layers. Every weight starts uniform in [-0.1, 0.1] (section 5.1.1), from ``seed``.
* The three LSTMs are ``keras.layers.LSTMCell`` layers (gates i, f, c, o; sigmoid / tanh); the embedding
  and Scale LSTMs run in ``keras.layers.RNN`` wrappers, which add no weights.

One code path, :meth:`PolicyNetwork._run`, serves both uses. It drives the decision generators
(``actions.walk``) of a batch of networks in lockstep, one batched LSTM computation per decision
position, and a *picker* answers each decision: :meth:`propose_batch` samples (with a numpy Generator,
so a seeded search is reproducible) and records every decision as plain JSON data; :meth:`evaluate_batch`
replays recorded decision lists through the same computation (e.g. under ``tf.GradientTape``) and returns
their log-probabilities and the entropies of every decision, by kind.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from rena_lib import spaces
from rena_lib.actions import ACTION_CHOICES, Choice, Proposal, walk
from rena_lib.arch.spec import Spec
from rena_lib.spaces import SearchSpace

__all__ = ["DECISION_KINDS", "PolicyNetwork"]

#: decision kinds (see rena_lib.actions.Choice): scale / insert-keep-remove / new-layer features / remove
DECISION_KINDS = ("scale", "action", "new", "remove")

_NEG = -1e9  # logit of a masked option: exp() underflows to exactly 0 in float32, gradients stay finite


def _log_softmax_entropy(logits, mask):
    """Masked log-softmax per row (disallowed entries ~ -1e9) and each row's entropy (nats)."""
    logp = tf.nn.log_softmax(tf.where(mask, logits, tf.constant(_NEG, logits.dtype)), axis=-1)
    ent = -tf.reduce_sum(tf.where(mask, tf.exp(logp) * logp, tf.zeros_like(logp)), axis=-1)
    return logp, ent


class PolicyNetwork(keras.Model):
    """The policy network of Fig. 1 for one search space (see the module docstring)."""

    def __init__(
        self,
        space: str = "kws_layer",
        max_layers: int | None = None,
        embed_size: int = 32,
        embed_units: int = 32,
        controller_units: int = 128,
        seed: int = 0,
        init_scale: float = 0.1,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        for name, v in (
            ("embed_size", embed_size),
            ("embed_units", embed_units),
            ("controller_units", controller_units),
        ):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive int, got {v!r}")
        self.space_name = space
        self.space: SearchSpace = spaces.get(space, max_layers)
        self.max_layers = self.space.max_layers
        self.embed_size, self.embed_units, self.controller_units = embed_size, embed_units, controller_units
        self.seed, self.init_scale = seed, init_scale
        sp = self.space

        tokens: list[tuple[str, Any]] = [("start", None)] + [("action", a) for a in ACTION_CHOICES]
        tokens += [("type", t) for t in sp.layer_types]
        tokens += [(f, v) for f, values in sp.features.items() for v in values]
        self._token = {tok: i for i, tok in enumerate(tokens)}
        scalable = list(dict.fromkeys(f for t in sp.layer_types for f in sp.scalable_features(t)))
        self._scale_seg = _segments([(f, len(sp.features[f])) for f in scalable])
        heads = [("action", len(ACTION_CHOICES)), ("type", len(sp.layer_types))]
        heads += [(f, len(v)) for f, v in sp.features.items()] + [("remove", sp.max_layers)]
        self._insert_seg = _segments(heads)

        self.embedding = keras.layers.Embedding(len(tokens), embed_size, name="lookup")
        self.embed_lstm = keras.layers.LSTMCell(embed_units, name="embedding_lstm")
        self.scale_lstm = keras.layers.LSTMCell(controller_units, name="scale_lstm")
        self.insert_lstm = keras.layers.LSTMCell(controller_units, name="insert_remove_lstm")
        self.scale_head = keras.layers.Dense(self._scale_seg["_total"], name="scale_lookup")
        self.insert_head = keras.layers.Dense(self._insert_seg["_total"], name="insert_remove_lookup")
        self.embedding.build(None)
        self.embed_lstm.build((None, embed_size))
        self.scale_lstm.build((None, embed_units + embed_units + embed_size))
        self.insert_lstm.build((None, embed_units + embed_size))
        self.scale_head.build((None, controller_units))
        self.insert_head.build((None, controller_units))
        # the LSTMs that read whole sequences run their (already built) cells in keras RNN layers; the
        # Insert-remove LSTM is stepped one decision at a time (its input is its last pick). Each pass is
        # compiled once per instance (eager keras ops cost more than the small matmuls they wrap).
        self.embed_rnn = keras.layers.RNN(self.embed_lstm, return_sequences=True, name="embedding_rnn")
        self.scale_rnn = keras.layers.RNN(self.scale_lstm, return_sequences=True, name="scale_rnn")
        self._embed_seq = tf.function(self.embed_rnn, reduce_retracing=True)
        self._scale_pass = tf.function(self._scale_step, reduce_retracing=True)
        self._insert_pass = tf.function(self._insert_step, reduce_retracing=True)
        self.built = True
        self.initialize(seed)

    def initialize(self, seed: int) -> None:
        """Set every weight uniform in [-init_scale, init_scale] from a numpy Generator seeded by seed."""
        rng = np.random.default_rng(seed)
        s = self.init_scale
        self.set_weights([rng.uniform(-s, s, w.shape).astype(np.float32) for w in self.get_weights()])

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments (from_config(get_config()) rebuilds the same network)."""
        return {
            "space": self.space_name,
            "max_layers": self.max_layers,
            "embed_size": self.embed_size,
            "embed_units": self.embed_units,
            "controller_units": self.controller_units,
            "seed": self.seed,
            "init_scale": self.init_scale,
            "name": self.name,
        }

    # ---- network embedding -------------------------------------------------------------------------
    def token_id(self, feature: str, value: Any) -> int:
        """Row of the lookup table for a (feature, value) pair ("type" for layer types)."""
        try:
            return self._token[(feature, value)]
        except KeyError:
            raise ValueError(
                f"{feature}={value!r} is not a value of search space {self.space.name!r}"
            ) from None

    def encode(self, specs: list[Spec]) -> dict[str, np.ndarray]:
        """Token ids of every layer's type and feature values, with their (network, layer) slots."""
        L = max(len(s.layers) for s in specs)
        ids, slot = [], []
        for b, spec in enumerate(specs):
            for i, layer in enumerate(spec.layers):
                if layer.type not in self.space.type_features:
                    raise ValueError(
                        f"layer {i + 1}: type {layer.type!r} is not in space {self.space.name!r}"
                    )
                feats = self.space.type_features[layer.type]
                ids += [self.token_id("type", layer.type)] + [
                    self.token_id(f, layer.features[f]) for f in feats
                ]
                slot += [b * L + i] * (1 + len(feats))
        lengths = np.array([len(s.layers) for s in specs], np.int32)
        return {"ids": np.asarray(ids, np.int32), "slots": np.asarray(slot, np.int32), "lengths": lengths}

    def call(self, inputs):
        """(network embeddings (B, embed_units), per-layer outputs (B, L, embed_units)) of encoded specs."""
        lengths = inputs["lengths"]
        B, L = len(lengths), int(np.max(lengths))
        rows = tf.gather(self.embedding.embeddings, inputs["ids"])
        layers = tf.reshape(
            tf.math.unsorted_segment_sum(rows, inputs["slots"], B * L), (B, L, self.embed_size)
        )
        outs = self._embed_seq(layers)
        net = tf.gather_nd(outs, np.stack([np.arange(B), lengths - 1], axis=1))
        return net, outs

    # ---- sampling and replay -------------------------------------------------------------------------
    def propose(self, spec: Spec, rng: np.random.Generator) -> Proposal:
        """Sample one step (scale, then insert / keep / remove) for spec with the numpy Generator rng."""
        return self.propose_batch([spec], rng)[0]

    def propose_batch(self, specs: list[Spec], rng: np.random.Generator) -> list[Proposal]:
        """Sample one step for each spec (one batched pass; draws from rng in a fixed order)."""
        run = self._run(specs, _Sampler(rng))
        return [
            Proposal(actions, decisions, float(lp), {k: float(np.mean(v)) for k, v in ent.items()})
            for (decisions, actions), lp, ent in zip(
                run.results, run.log_probs.numpy(), run.entropy_by_row(), strict=True
            )
        ]

    def evaluate(self, spec: Spec, decisions: list[dict[str, Any]]) -> tuple[tf.Tensor, dict[str, tf.Tensor]]:
        """Replay one recorded decision list: (log-probability, {kind: entropies of its decisions})."""
        log_probs, entropies = self.evaluate_batch([spec], [decisions])
        return log_probs[0], entropies

    def evaluate_batch(
        self, specs: list[Spec], decisions: list[list[dict[str, Any]]]
    ) -> tuple[tf.Tensor, dict[str, tf.Tensor]]:
        """Replay recorded decision lists: (log-probabilities (B,), {kind: entropies of all its decisions})."""
        if len(specs) != len(decisions):
            raise ValueError(f"{len(specs)} specs but {len(decisions)} decision lists")
        run = self._run(specs, _Replayer(decisions))
        return run.log_probs, {k: tf.concat(v, 0) for k, v in run.entropies.items()}

    def distributions(self, spec: Spec, decisions: list[dict[str, Any]]) -> list[np.ndarray]:
        """Each recorded decision's probabilities over its options (masked options: 0), in order."""
        run = self._run([spec], _Replayer([decisions]))
        return [np.exp(logp.numpy()[row, s:e].astype(np.float64)) for logp, row, s, e in run.rows]

    def _run(self, specs: list[Spec], picker: _Sampler | _Replayer) -> _Run:
        """Drive actions.walk for every spec in lockstep; every decision position is one batched step."""
        if not specs:
            raise ValueError("no specs")
        run = _Run(len(specs))
        walks = [walk(self.space, s) for s in specs]
        net, layer_out = self.call(self.encode(specs))

        # scale action: one batched Scale-LSTM pass over every (layer, scalable feature)
        scale = [next(w) for w in walks]
        picks: list[list[int]] = [[] for _ in specs]
        if any(scale):
            where, logits = self._scale_logits(specs, scale, net, layer_out)
            for (b, _), k in zip(where, run.decide(picker, where, logits, self._scale_seg), strict=True):
                picks[b].append(k)
        pending = {}
        for b, w in enumerate(walks):
            pending[b] = w.send(picks[b])

        # insert-remove LSTM: one step per decision position, for every walk still deciding
        units = self.controller_units
        h = tf.zeros((len(specs), units))
        c = tf.zeros((len(specs), units))
        prev = np.full(len(specs), self._token[("start", None)], np.int32)
        while pending:
            active = sorted(pending)
            where = [(b, pending[b]) for b in active]
            h, c, logits = self._insert_pass(net, tf.constant(prev), h, c, tf.constant(active, tf.int32))
            for (b, choice), k in zip(
                where, run.decide(picker, where, logits, self._insert_seg), strict=True
            ):
                prev[b] = self._next_token(choice, k)
                try:
                    pending[b] = walks[b].send(k)
                except StopIteration as stop:
                    run.results[b] = stop.value
                    del pending[b]
        picker.finish()
        return run

    def _scale_logits(self, specs, scale, net, layer_out) -> tuple[list[tuple[int, Choice]], tf.Tensor]:
        """Scale-LSTM logits of every (network, scale choice): inputs are the network embedding, the
        layer's embedding-LSTM output and the current value's embedding, padded to a (B, S, .) batch."""
        B, S = len(specs), max(len(c) for c in scale)
        slot, layer_idx, current, where = [], [], [], []
        for b, choices in enumerate(scale):
            for j, c in enumerate(choices):
                slot.append(b * S + j)
                layer_idx.append([b, c.layer - 1])
                current.append(self.token_id(c.head, specs[b].layers[c.layer - 1][c.head]))
                where.append((b, c))
        rows = tf.concat(
            [
                tf.gather(net, [b for b, _ in where]),
                tf.gather_nd(layer_out, layer_idx),
                tf.gather(self.embedding.embeddings, current),
            ],
            axis=1,
        )
        width = rows.shape[1]
        xs = tf.reshape(tf.scatter_nd(np.array(slot)[:, None], rows, (B * S, width)), (B, S, width))
        return where, self._scale_pass(xs, tf.constant(slot, tf.int32))

    def _scale_step(self, xs: tf.Tensor, slot: tf.Tensor) -> tf.Tensor:
        """Scale-lookup logits at the slots (network * S + position) of the Scale-LSTM's outputs over xs."""
        hs = self.scale_rnn(xs)
        return self.scale_head(tf.gather(tf.reshape(hs, (-1, self.controller_units)), slot))

    def _insert_step(self, net, prev, h, c, active) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """One Insert-remove LSTM step from the last picks' tokens: (h, c, lookup logits of the active rows)."""
        h, (_, c) = self.insert_lstm(tf.concat([net, self.embedding(prev)], axis=1), [h, c])
        return h, c, self.insert_head(tf.gather(h, active))

    def _next_token(self, choice: Choice, k: int) -> int:
        """The lookup-table row fed to the Insert-remove LSTM after a decision."""
        value = choice.options[k]
        if choice.kind == "action":
            return self._token[("action", value)]
        if choice.head == "type":
            return self._token[("type", value)]
        if choice.kind == "new":
            return self.token_id(choice.head, value)
        return self._token[("start", None)]  # after remove: the walk is over


def _segments(heads: list[tuple[str, int]]) -> dict[str, Any]:
    """Column blocks of a lookup-table Dense layer: name -> (start, end), plus "_total"."""
    seg, start = {}, 0
    for name, size in heads:
        seg[name] = (start, start + size)
        start += size
    seg["_total"] = start
    return seg


class _Run:
    """What a batched pass collects: per-network log-probability, entropies, decision rows, results."""

    def __init__(self, batch: int):
        self.batch = batch
        self.terms: list[tuple[tf.Tensor, list[int]]] = []  # (log-probs of picks, their networks)
        self.entropies: dict[str, list[tf.Tensor]] = {}
        self.entropy_rows: list[tuple[str, list[int], tf.Tensor]] = []
        self.rows: list[tuple[tf.Tensor, int, int, int]] = []  # (logp, row, start, end) per decision
        self.results: list[Any] = [None] * batch

    def decide(
        self, picker, where: list[tuple[int, Choice]], logits: tf.Tensor, seg: dict[str, Any]
    ) -> list[int]:
        """Masked log-softmax of the rows, picks from the picker; keeps log-probabilities and entropies."""
        mask = np.zeros((len(where), seg["_total"]), dtype=bool)
        for r, (_, choice) in enumerate(where):
            s, e = seg[choice.head]
            mask[r, s:e] = choice.allowed()
        logp, ent = _log_softmax_entropy(logits, mask)
        starts = [seg[choice.head][0] for _, choice in where]
        picks = picker.pick(where, logp, starts)
        rows = [b for b, _ in where]
        self.terms.append(
            (
                tf.gather_nd(logp, [[r, s + k] for r, (s, k) in enumerate(zip(starts, picks, strict=True))]),
                rows,
            )
        )
        for kind in dict.fromkeys(choice.kind for _, choice in where):
            idx = [r for r, (_, choice) in enumerate(where) if choice.kind == kind]
            e = tf.gather(ent, idx)
            self.entropies.setdefault(kind, []).append(e)
            self.entropy_rows.append((kind, [rows[r] for r in idx], e))
        for r, (_, choice) in enumerate(where):
            self.rows.append((logp, r, starts[r], starts[r] + len(choice.options)))
        return picks

    @property
    def log_probs(self) -> tf.Tensor:
        """Total log-probability of each network's decisions, shape (B,)."""
        values = tf.concat([t for t, _ in self.terms], 0)
        ids = np.concatenate([np.asarray(r, np.int32) for _, r in self.terms])
        return tf.math.unsorted_segment_sum(values, ids, self.batch)

    def entropy_by_row(self) -> list[dict[str, list[float]]]:
        """Per network: {kind: entropies of its decisions}."""
        out: list[dict[str, list[float]]] = [{} for _ in range(self.batch)]
        for kind, rows, e in self.entropy_rows:
            for b, v in zip(rows, e.numpy(), strict=True):
                out[b].setdefault(kind, []).append(float(v))
        return out


class _Sampler:
    """Samples each decision from its distribution with a numpy Generator (inverse CDF, float64)."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng

    def pick(self, where: list[tuple[int, Choice]], logp: tf.Tensor, starts: list[int]) -> list[int]:
        lp = logp.numpy().astype(np.float64)
        u = self.rng.random(len(where))
        picks = []
        for r, ((_, choice), s) in enumerate(zip(where, starts, strict=True)):
            n = len(choice.options)
            cdf = np.cumsum(np.exp(lp[r, s : s + n]))
            picks.append(int(min(np.searchsorted(cdf, u[r] * cdf[-1], side="right"), n - 1)))
        return picks

    def finish(self) -> None:
        """Nothing to check."""


class _Replayer:
    """Reads each decision back from recorded decision lists, checking that the structure matches."""

    def __init__(self, records: list[list[dict[str, Any]]]):
        self.records = records
        self.cursor = [0] * len(records)

    def pick(self, where: list[tuple[int, Choice]], logp: tf.Tensor, starts: list[int]) -> list[int]:
        picks = []
        for b, choice in where:
            i = self.cursor[b]
            if i >= len(self.records[b]):
                raise ValueError(f"replay: decision list {b} is shorter than the walk needs")
            d = self.records[b][i]
            if d["kind"] != choice.kind or d["head"] != choice.head or d.get("layer") != choice.layer:
                raise ValueError(
                    f"replay: decision {i} of list {b} is {d['kind']}/{d['head']}, the walk expects {choice.kind}/{choice.head}"
                )
            picks.append(int(d["choice"]))
            self.cursor[b] = i + 1
        return picks

    def finish(self) -> None:
        """Every recorded decision must have been used."""
        for b, (i, rec) in enumerate(zip(self.cursor, self.records, strict=True)):
            if i != len(rec):
                raise ValueError(f"replay used {i} of the {len(rec)} decisions of list {b}")
