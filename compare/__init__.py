"""The verification suite: numerical references, check_grad with a diagnosis, network comparison."""

from .checkgrad import EntryCheck, GradCheckReport, ParamCheck, assert_grad_close, check_grad
from .numerical import numerical_grad
