"""The one definition of the network that every implementation shares.

- ``NetworkSpec``: layer sizes, activations, loss, initialisation, seed and dtype;
- ``activations``: the registry, one entry per activation with every form of it that is needed;
- ``init_params``, ``forward``, ``objective`` and ``cost``: the math, written once against an
  array namespace (``network.ops``), so that every implementation runs the same function;
- data sets (``xor``, ``moons``, ``circles``, ``spiral``, ``blobs``) and CSV / .npz loaders;
- ``save_params`` / ``load_params``: parameters with their spec in one .npz file;
- ``check_data`` and ``check_params``: validation at the boundary.
"""

if __name__ != "backproof.network":  # the folder installs under the one import name
    raise ImportError(f"import backproof.network, not {__name__}")


from . import activations
from .activations import Activation
from .data import (
    DATASETS,
    Dataset,
    SavedParams,
    blobs,
    circles,
    load_csv,
    load_data,
    load_npz,
    load_params,
    make_dataset,
    moons,
    one_hot,
    save_params,
    spiral,
    targets,
    xor,
)
from .model import (
    accuracy,
    check_spec,
    cost,
    forward,
    init_params,
    loss_from_output,
    objective,
    predict,
)
from .ops import NUMPY_OPS, Ops
from .spec import ACTIVATIONS, DTYPES, INITS, LOSSES, NetworkSpec
from .training import gradient_descent, show_progress
from .validation import as_float_array, check_data, check_params

__all__ = [
    "NetworkSpec",
    "gradient_descent",
    "show_progress",
    "ACTIVATIONS",
    "LOSSES",
    "INITS",
    "DTYPES",
    "NUMPY_OPS",
    "Ops",
    "Activation",
    "activations",
    "init_params",
    "forward",
    "loss_from_output",
    "objective",
    "cost",
    "predict",
    "accuracy",
    "check_spec",
    "check_data",
    "check_params",
    "as_float_array",
    "DATASETS",
    "xor",
    "moons",
    "circles",
    "spiral",
    "blobs",
    "make_dataset",
    "one_hot",
    "targets",
    "load_csv",
    "load_npz",
    "load_data",
    "Dataset",
    "SavedParams",
    "save_params",
    "load_params",
]
