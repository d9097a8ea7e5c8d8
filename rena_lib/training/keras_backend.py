"""What differs between Keras backends: which one runs, what an out-of-memory error looks like, and
TensorFlow's custom-gradient registry, emptied after each child."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


def _backend() -> str:
    """The Keras backend's name (tensorflow, jax, torch)."""
    import keras

    return keras.backend.backend()


def _is_oom(exc: BaseException) -> bool:
    if isinstance(exc, MemoryError):
        return True
    if _backend() == "tensorflow":
        import tensorflow as tf

        return isinstance(exc, tf.errors.ResourceExhaustedError)
    return "RESOURCE_EXHAUSTED" in str(exc) or "out of memory" in str(exc).lower()


@contextlib.contextmanager
def release_custom_gradients() -> Iterator[None]:
    """Drop the custom-gradient registrations made inside the block when it ends.

    TensorFlow registers every graph-mode tf.custom_gradient in a process-wide registry that is never
    pruned, and Keras's optimiser reduces gradients through one in every traced train step; the entry
    keeps that step's whole FuncGraph alive, so memory grew by about 6 MB per child even after
    keras.backend.clear_session() (keras-team/keras#17458 and #20552 report the symptom). The entries
    are only looked up while a gradient is being traced through that graph, which is over once the
    child is done. Not for children trained concurrently in threads of one process.
    """
    if _backend() != "tensorflow":  # nothing to release (and no TensorFlow to import) on JAX or torch
        yield
        return
    from tensorflow.python.framework import ops

    registry = getattr(getattr(ops, "_gradient_registry", None), "_registry", None)
    before = set(registry) if isinstance(registry, dict) else None
    try:
        yield
    finally:
        if before is not None:
            for name in set(registry) - before:
                if name.startswith("CustomGradient-"):
                    registry.pop(name, None)
