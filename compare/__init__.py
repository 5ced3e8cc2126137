"""The verification suite.

- ``numerical_grad``: central differences, Richardson extrapolation, the complex step;
- ``reference.loss_and_grads``: HIPS autograd on the shared network definition;
- ``check_grad`` / ``assert_grad_close``: any gradient formula against finite differences, with
  a diagnosis of what kind of mistake a wrong gradient is;
- ``check_vjp`` / ``check_jvp`` / ``check_jacobian`` / ``check_hvp`` / ``check_hessian``: the
  derivatives that are not a gradient, each reduced to ``check_grad`` on a scalar function;
- ``check_model``: the backprop of someone else's network object (parameters in attributes);
- ``compare_network``: every implementation of the network against every reference;
- ``mutants``: a catalog of wrong derivations, each one caught;
- ``plots`` and the ``backproof`` command (``compare.cli``).
"""

if __name__ != "backproof.compare":  # the folder installs under the one import name
    raise ImportError(f"import backproof.compare, not {__name__}")


from . import reference
from .checkgrad import (
    FULL_CHECK_LIMIT,
    EntryCheck,
    GradCheckReport,
    ParamCheck,
    assert_grad_close,
    check_grad,
)
from .jacobians import (
    DerivativeReport,
    check_hessian,
    check_hvp,
    check_jacobian,
    check_jvp,
    check_vjp,
)
from .model_check import ModelCheckReport, check_model
from .network_check import NetworkComparison, check_implementation, compare_network
from .numerical import numerical_grad

__all__ = [
    "numerical_grad",
    "check_grad",
    "assert_grad_close",
    "GradCheckReport",
    "ParamCheck",
    "EntryCheck",
    "FULL_CHECK_LIMIT",
    "check_vjp",
    "check_jvp",
    "check_jacobian",
    "check_hvp",
    "check_hessian",
    "DerivativeReport",
    "check_model",
    "ModelCheckReport",
    "compare_network",
    "NetworkComparison",
    "check_implementation",
    "reference",
]
