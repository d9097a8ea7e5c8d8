"""rena_lib: a companion library to "Resource-Efficient Neural Architect" (RENA).

Modules, one concept each:
    spaces      the search spaces of the paper's Tables 3-5
    arch        architecture specs (plain data), the paper's notation, validation and the Keras builder
    metrics     model size, FLOPs and compute intensity (section 3, Appendix A)
    reward      constraints and the multi-objective reward of Eq. 3
    policy      the policy network of Fig. 1 (a Keras model)
    actions     scale / insert / remove edits applied to a spec
    search      the REINFORCE search loop (Fig. 3), RENA and random proposers, the search log
    evaluation  the evaluator protocol (spec -> EvalResult) and the cheap proxy evaluator
    data        CIFAR-10 and Speech Commands pipelines
    training    child training and the CIFAR / KWS evaluators
    executors   local and Ray execution of a batch of children
    provenance  where results came from (scale, data, evaluator, score) and where they go (RENA_RESULTS_DIR)
    figures     the paper's figures from saved results; figures.show saves and displays in one call
    analysis    saved provenance read back; constraints that never bind, searches sharing their start
    notebook_params  checks on the notebooks' papermill parameters
"""

import os as _os

# Silence TensorFlow's C++ and absl log noise before anything imports TensorFlow.
for _k, _v in {
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "ABSL_MIN_LOG_LEVEL": "3",
    "GRPC_VERBOSITY": "ERROR",
    "KERAS_BACKEND": "tensorflow",
    "TF_ENABLE_ONEDNN_OPTS": "0",
}.items():
    _os.environ.setdefault(_k, _v)

__version__ = "0.1.0"
