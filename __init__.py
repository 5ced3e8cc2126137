"""backproof: a neural network's backprop written by hand and by a tape-based engine, with every
gradient proved against finite differences and HIPS autograd.

The repository's four folders install as the subpackages of this one import name:
``backproof.network`` (the shared definition), ``backproof.manual`` (hand-derived backprop),
``backproof.autodiff`` (the engine) and ``backproof.compare`` (the verifier). The everyday API is
re-exported here::

    from backproof import check_grad, NetworkSpec, Tensor

Names are resolved on first use (PEP 562), so ``import backproof`` — and the pytest plugin that
registers the ``grad_check`` fixture — import neither NumPy nor the subpackages until asked.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _distribution_version

try:
    __version__ = _distribution_version("backproof")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

SUBPACKAGES = ("network", "manual", "autodiff", "compare")

# public name -> the subpackage that defines it
EXPORTS = {
    "NetworkSpec": "network",
    "check_grad": "compare",
    "assert_grad_close": "compare",
    "numerical_grad": "compare",
    "check_vjp": "compare",
    "check_jvp": "compare",
    "check_jacobian": "compare",
    "check_hvp": "compare",
    "check_hessian": "compare",
    "check_model": "compare",
    "compare_network": "compare",
    "check_implementation": "compare",
    "GradCheckReport": "compare",
    "NetworkComparison": "compare",
    "Value": "autodiff",
    "Tensor": "autodiff",
}

__all__ = ["__version__", *SUBPACKAGES, *EXPORTS]


def __getattr__(name: str):
    if name in SUBPACKAGES:
        module = importlib.import_module(f"{__name__}.{name}")
    elif name in EXPORTS:
        module = getattr(importlib.import_module(f"{__name__}.{EXPORTS[name]}"), name)
    else:
        raise AttributeError(f"module 'backproof' has no attribute {name!r}")
    globals()[name] = module
    return module


def __dir__() -> list[str]:
    return sorted(__all__)
