"""TensorFlow Lite conversion: float and int8 models of a Keras child, an interpreter, batched predictions.

TFLite notes (TF 2.21): a Keras GRU is converted with its recurrence *unrolled* over the 49 time steps
(same weights). The rolled while-loop cannot be converted with a dynamic batch, and the int8 calibrator
crashes on it; the unrolled graph quantises fine and runs faster on XNNPACK, at the price of a larger
file (every step's ops are stored; the int8 file of an unrolled GRU can even outgrow the float one, e.g.
824 KB vs 380 KB for GRU (2,32,1), as each step carries its own quantised tensors). Models without
recurrent layers are converted unchanged (int8 then is about a quarter of the float file).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import keras

__all__ = [
    "QUANTIZATIONS",
    "interpreter",
    "quiet_native_stderr",
    "tflite_predict",
    "tflite_ready",
    "to_tflite",
]

QUANTIZATIONS = ("float", "int8")


def _unroll_config(config: dict[str, Any]) -> dict[str, Any]:
    config = dict(config)
    for key in ("layer", "backward_layer"):  # Bidirectional nests its GRUs' configs
        inner = config.get(key)
        if isinstance(inner, dict) and isinstance(inner.get("config"), dict):
            config[key] = {**inner, "config": {**inner["config"], "unroll": True}}
    if "unroll" in config:
        config["unroll"] = True
    return config


def tflite_ready(model: keras.Model) -> keras.Model:
    """The model with every recurrent layer unrolled (same weights, same outputs); itself if it has none."""
    import keras

    rnn = (keras.layers.RNN, keras.layers.GRU, keras.layers.LSTM, keras.layers.Bidirectional)
    if not any(isinstance(layer, rnn) for layer in model.layers):
        return model

    def clone(layer: keras.layers.Layer) -> keras.layers.Layer:
        config = layer.get_config()
        if isinstance(layer, rnn):
            config = _unroll_config(config)
        return layer.__class__.from_config(config)

    out = keras.models.clone_model(model, clone_function=clone)
    for layer in out.layers:
        layer.set_weights(model.get_layer(layer.name).get_weights())
    return out


@contextlib.contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Silence what TensorFlow Lite's C++ code writes to file descriptor 2 inside the block ("Created
    TensorFlow Lite XNNPACK delegate for CPU", the converter's "fully_quantize: 0, ..." summary): those
    lines bypass Python's logging. If the block raises, the captured text is written to stderr after all."""
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no file descriptor 2 (an embedded interpreter): nothing to silence
        yield
        return
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            sink.seek(0)
            sys.stderr.write(sink.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def to_tflite(
    model: keras.Model,
    quantization: str = "float",
    representative: np.ndarray | None = None,
    *,
    int8_only: bool = True,
) -> bytes:
    """TFLite flatbuffer of a Keras model: "float", or "int8" calibrated on representative inputs [N, ...].

    int8 is full-integer post-training quantisation with float input and output; int8_only=False lets
    ops without an int8 kernel stay float instead of failing.
    """
    import tensorflow as tf

    if quantization not in QUANTIZATIONS:
        raise ValueError(f"quantization must be one of {QUANTIZATIONS}, got {quantization!r}")
    converter = tf.lite.TFLiteConverter.from_keras_model(tflite_ready(model))
    if quantization == "int8":
        if representative is None or len(representative) == 0:
            raise ValueError("int8 quantisation needs a representative sample of inputs (an array [N, ...])")
        sample = np.asarray(representative, dtype=np.float32)

        def dataset():
            for i in range(len(sample)):
                yield [sample[i : i + 1]]

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = dataset
        ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.target_spec.supported_ops = ops if int8_only else [*ops, tf.lite.OpsSet.TFLITE_BUILTINS]
    tf_log = logging.getLogger("tensorflow")  # "INFO:tensorflow:Assets written to ..." on every conversion
    level = tf_log.level
    tf_log.setLevel(logging.WARNING)
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings(), quiet_native_stderr():
            warnings.filterwarnings(
                "ignore", message="Statistics for quantized inputs"
            )  # float I/O: expected
            return converter.convert()  # (stdout: Keras prints "Saved artifact at ..." on export)
    finally:
        tf_log.setLevel(level)


def interpreter(content: bytes | str | os.PathLike, *, num_threads: int = 1, batch_size: int | None = None):
    """An allocated TFLite interpreter (ai_edge_litert, else tf.lite), input resized to batch_size if given."""
    if not isinstance(content, bytes | bytearray):
        content = Path(content).read_bytes()
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:  # the optional [tflite] extra is not installed
        import tensorflow as tf

        Interpreter = tf.lite.Interpreter
    with quiet_native_stderr():  # "INFO: Created TensorFlow Lite XNNPACK delegate for CPU."
        interp = Interpreter(model_content=bytes(content), num_threads=num_threads)
        if batch_size is not None:
            for d in interp.get_input_details():
                shape = list(d["shape"])
                if shape and shape[0] != batch_size:
                    interp.resize_tensor_input(d["index"], [batch_size, *shape[1:]])
        interp.allocate_tensors()
    return interp


def tflite_predict(
    content: bytes | str | os.PathLike, x: np.ndarray, *, num_threads: int = 1, batch_size: int = 64
) -> np.ndarray:
    """Outputs (logits) of a one-input TFLite model on x [N, ...], in batches of batch_size."""
    x = np.asarray(x)
    outs = []
    interp, current = None, None
    for i in range(0, len(x), batch_size):
        chunk = x[i : i + batch_size]
        if current != len(chunk):
            interp, current = interpreter(content, num_threads=num_threads, batch_size=len(chunk)), len(chunk)
        inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
        interp.set_tensor(inp["index"], chunk.astype(inp["dtype"]))
        interp.invoke()
        outs.append(interp.get_tensor(out["index"]).copy())
    return np.concatenate(outs) if outs else np.zeros((0,), np.float32)
