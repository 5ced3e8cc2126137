"""The registry of activations: everything about each activation, in one entry.

An entry (``Activation``) declares, for an activation g:

- ``kernel(z, out=None)``: the forward pass in NumPy, into ``out`` when given (``out=z`` works);
- ``from_output``: whether its derivative is written through the output A = g(Z) (True), so that
  backprop may forget Z, or needs the input Z itself (False);
- ``vjp(g, x, xp)``: dJ/dZ from g = dJ/dA, with x = A or Z as declared, written in the math
  namespace ``xp`` (see ``MATH_FUNCTIONS``). The same formula runs on NumPy arrays, on the
  engine's tensors (recording, for second derivatives) and on its scalar ``Value``s;
- ``formula(z, xp)``: the forward pass written in ``xp``. Run on ``autograd.numpy`` it is what HIPS
  autograd differentiates; run on complex NumPy it is the complex-safe form of the complex step;
  run on NumPy object arrays of ``Value``s it builds the scalar engine's graph (for activations
  that are not elementwise). Special forms live in the namespace, not here: autograd's tanh, for
  instance, overflows where the namespace's tanh does not;
- optionally ``backward(g, x, overwrite_g, overwrite_x)``, a faster NumPy kernel of the VJP that
  may build its result in ``g`` and use ``x`` as scratch when told it owns them (it must give bit
  for bit the numbers of ``vjp``), and ``scalar(z)``, a faster forward on one Python float.

Everything else is derived from ``REGISTRY``: the names ``NetworkSpec`` admits, ``manual``'s
forward and backward, the engine's tensor and scalar operations, the reference namespaces, the
command line's choices and help, and the tests' pairings. ``register`` checks an entry when it is
added, so a missing piece fails at import with a message naming the activation.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

__all__ = [
    "Activation",
    "REGISTRY",
    "MATH_FUNCTIONS",
    "NUMPY_MATH",
    "register",
    "summaries",
]

MATH_FUNCTIONS = ("exp", "expm1", "tanh", "sigmoid", "softplus", "where", "positive", "sum")
"""What a ``formula`` or ``vjp`` may call on its namespace ``xp``, besides the operators
``+ - * /`` and Python numbers (which keep the precision of the arrays they meet):

- ``exp``, ``expm1``, ``tanh``, ``sigmoid`` (1/(1+e^-z)), ``softplus`` (log(1+e^z)): elementwise,
  differentiable, finite for every real input;
- ``where(cond, a, b)``: a where cond holds, else b; cond is not differentiated;
- ``positive(x)``: the boolean mask x > 0 (the real part, for complex x); not differentiated;
- ``sum(x, axis, keepdims)``: as NumPy's;
- ``logsumexp(x)``: log sum exp down each column (axis -2), kept as shape (..., 1, m).
"""


@dataclass(frozen=True)
class Activation:
    """One activation: its forward, its derivative and the forms every implementation needs."""

    name: str
    summary: str
    kernel: Callable
    from_output: bool
    vjp: Callable
    formula: Callable
    backward: Callable | None = None
    scalar: Callable | None = None
    elementwise: bool = True

    def backward_numpy(self, g, x, *, overwrite_g: bool = False, overwrite_x: bool = False):
        """dJ/dZ from ``g`` = dJ/dA in NumPy, with ``x`` = A or Z as declared.

        With ``overwrite_g`` (``overwrite_x``) the caller owns ``g`` (``x``) and no longer needs
        it, so a kernel may write its result into ``g`` (use ``x`` as scratch).
        """
        if self.backward is not None:
            return self.backward(g, x, overwrite_g, overwrite_x)
        return self.vjp(g, x, NUMPY_MATH)

    def forward_scalar(self, z: float) -> float:
        """g(z) for one Python float (the scalar engine's forward)."""
        if self.scalar is not None:
            return self.scalar(z)
        return float(self.kernel(np.array([z], dtype=np.float64))[0])


REGISTRY: dict[str, Activation] = {}


def register(activation: Activation) -> Activation:
    """Add ``activation`` to ``REGISTRY`` after checking that every piece is there."""
    name = activation.name
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"an activation's name must be an identifier, got {name!r}")
    if name in REGISTRY:
        raise ValueError(f"activation {name!r} is already registered")
    if not isinstance(activation.summary, str) or not activation.summary.strip():
        raise ValueError(f"activation {name!r} needs a one-line summary (for --help)")
    for part in ("kernel", "vjp", "formula"):
        if not callable(getattr(activation, part)):
            raise TypeError(f"activation {name!r} needs a callable {part}")
    for part in ("backward", "scalar"):
        if getattr(activation, part) is not None and not callable(getattr(activation, part)):
            raise TypeError(f"activation {name!r}: {part} must be callable or None")
    if "out" not in inspect.signature(activation.kernel).parameters:
        raise TypeError(f"activation {name!r}: its kernel must accept out= (kernel(z, out=None))")
    if not isinstance(activation.from_output, bool):
        raise TypeError(f"activation {name!r}: from_output must be True or False")
    _try_on_a_small_array(activation)
    REGISTRY[name] = activation
    return activation


def _try_on_a_small_array(act: Activation) -> None:
    """Run the entry's NumPy pieces once, so that a formula calling a function the math
    namespace lacks, or a kernel that disagrees with its formula, fails now, naming the entry."""
    z = np.linspace(-2.0, 2.0, 6).reshape(3, 2)
    steps = {
        "kernel": lambda: act.kernel(z),
        "formula": lambda: act.formula(z, NUMPY_MATH),
        "vjp": lambda: act.vjp(
            np.ones_like(z), act.kernel(z) if act.from_output else z, NUMPY_MATH
        ),
    }
    results = {}
    for part, run in steps.items():
        try:
            results[part] = np.asarray(run())
        except Exception as exc:
            raise TypeError(
                f"activation {act.name!r}: its {part} fails on a small array: {exc}"
            ) from exc
        if results[part].shape != z.shape:
            raise ValueError(
                f"activation {act.name!r}: its {part} gives shape {results[part].shape} for an "
                f"input of shape {z.shape}"
            )
    if not np.allclose(results["kernel"], results["formula"], rtol=1e-12, atol=1e-15):
        raise ValueError(f"activation {act.name!r}: its kernel and its formula disagree")


def summaries() -> str:
    """One line per activation, ``name: summary``, for help texts."""
    return "\n".join(f"{a.name}: {a.summary}" for a in REGISTRY.values())


# -- the math namespace over NumPy ----------------------------------------------------------------
def _sigmoid(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """sigma(z) = 1 / (1 + e^-z), into ``out`` when given (``out=z`` works in place).

    For z below about -709 (float64), e^-z overflows to inf and 1/(1+inf) is the correct limit
    0, so that overflow is expected and silenced; no other form is both this precise in both
    tails and this fast (four passes over the data, no temporaries).
    """
    out = _exp_of_negative(z, out)
    if not isinstance(out, np.ndarray):  # z is a number or 0-d: NumPy answered with a scalar
        return 1.0 / (1.0 + out)
    out += 1.0
    np.reciprocal(out, out=out)
    return out


@np.errstate(over="ignore")
def _exp_of_negative(z: np.ndarray, out: np.ndarray | None) -> np.ndarray:
    """e^-z, into ``out`` when given, with overflow to inf silenced.

    ``np.errstate`` as a decorator is built once, here; as a ``with`` block it would build a new
    context manager on every call, which costs more than the two passes on a small layer.
    """
    out = np.negative(z, out=out)
    return np.exp(out, out=out if isinstance(out, np.ndarray) else None)


def _softplus(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """log(1 + e^z) = max(z, 0) + log1p(e^-|z|), never overflows."""
    return np.logaddexp(0.0, z, out=out)


def _logsumexp(z: np.ndarray) -> np.ndarray:
    """log sum_i exp(z_i) down each column (axis -2), shape (..., 1, m), shifted by the max."""
    zmax = z.max(axis=-2, keepdims=True)
    return zmax + np.log(np.exp(z - zmax).sum(axis=-2, keepdims=True))


NUMPY_MATH = SimpleNamespace(
    exp=np.exp,
    expm1=np.expm1,
    tanh=np.tanh,
    sigmoid=_sigmoid,
    softplus=_softplus,
    where=np.where,
    positive=lambda x: x > 0,
    sum=np.sum,
    logsumexp=_logsumexp,
)


# -- the activations -----------------------------------------------------------------------------
# Each kernel writes into ``out`` when given; the backward kernels give bit for bit the numbers of
# their ``vjp`` (the same products in the same order), only with fewer new arrays.


def _sigmoid_backward(g, a, overwrite_g, overwrite_x):
    g = g if overwrite_g else g.copy()
    g *= a
    g *= np.subtract(1, a, out=a) if overwrite_x else 1 - a
    return g


def _sigmoid_float(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


register(
    Activation(
        name="sigmoid",
        summary="1/(1+e^-z), the article's; g' = a(1-a)",
        kernel=_sigmoid,
        from_output=True,
        vjp=lambda g, a, xp: g * a * (1 - a),
        formula=lambda z, xp: xp.sigmoid(z),
        backward=_sigmoid_backward,
        scalar=_sigmoid_float,
    )
)


def _tanh(z, out=None):
    return np.tanh(z, out=out)


def _tanh_backward(g, a, overwrite_g, overwrite_x):
    g = g if overwrite_g else g.copy()
    if overwrite_x:
        g *= np.subtract(1, np.multiply(a, a, out=a), out=a)
    else:
        g *= 1 - a * a
    return g


register(
    Activation(
        name="tanh",
        summary="hyperbolic tangent; g' = 1 - a^2",
        kernel=_tanh,
        from_output=True,
        vjp=lambda g, a, xp: g * (1 - a * a),
        formula=lambda z, xp: xp.tanh(z),
        backward=_tanh_backward,
        scalar=math.tanh,
    )
)


def _relu(z, out=None):
    return np.maximum(z, 0, out=out)


def _relu_backward(g, a, overwrite_g, overwrite_x):
    return np.multiply(g, a > 0, out=g if overwrite_g else None)


register(
    Activation(
        name="relu",
        summary="max(z, 0); g' = 1 where a > 0, else 0 (0 at z = 0)",
        kernel=_relu,
        from_output=True,
        vjp=lambda g, a, xp: g * xp.positive(a),
        formula=lambda z, xp: xp.where(xp.positive(z), z, 0.0),
        backward=_relu_backward,
        scalar=lambda z: z if z > 0 else 0.0,
    )
)


def _linear(z, out=None):
    if out is None or out is z:
        return z
    out[...] = z
    return out


register(
    Activation(
        name="linear",
        summary="the identity; g' = 1",
        kernel=_linear,
        from_output=True,
        vjp=lambda g, a, xp: g,
        formula=lambda z, xp: z,
        backward=lambda g, a, overwrite_g, overwrite_x: g,
        scalar=lambda z: z,
    )
)


def _softmax(z, out=None):
    """exp(z_i) / sum_j exp(z_j) down each column (axis -2), computed from z - max(z)."""
    top = z.max(axis=-2, keepdims=True)
    out = np.subtract(z, top, out=out)
    np.exp(out, out=out)
    out /= out.sum(axis=-2, keepdims=True)
    return out


def _softmax_backward(g, a, overwrite_g, overwrite_x):
    # a column's Jacobian is diag(a) - a a^T, so J^T g = a * (g - <g, a>)
    g = g if overwrite_g else g.copy()
    g -= (g * a).sum(axis=-2, keepdims=True)
    g *= a
    return g


register(
    Activation(
        name="softmax",
        summary="e^z / sum e^z down each column; last layer only",
        kernel=_softmax,
        from_output=True,
        vjp=lambda g, a, xp: a * (g - xp.sum(g * a, axis=-2, keepdims=True)),
        formula=lambda z, xp: xp.exp(z - xp.logsumexp(z)),
        backward=_softmax_backward,
        elementwise=False,
    )
)

register(
    Activation(
        name="softplus",
        summary="log(1+e^z); g' = sigmoid(z) = 1 - e^-a",
        kernel=_softplus,
        from_output=True,
        # 1 - e^-a, written -expm1(-a) so that it keeps its digits when a is tiny (z << 0)
        vjp=lambda g, a, xp: -(g * xp.expm1(-a)),
        formula=lambda z, xp: xp.softplus(z),
        scalar=lambda z: max(z, 0.0) + math.log1p(math.exp(-abs(z))),
    )
)

LEAKY_SLOPE = 0.01


def _leaky_relu(z, out=None):
    return np.maximum(z, z * LEAKY_SLOPE, out=out)  # the slope is below 1


register(
    Activation(
        name="leaky_relu",
        summary=f"z if z > 0 else {LEAKY_SLOPE} z; g' = 1 or {LEAKY_SLOPE}",
        kernel=_leaky_relu,
        from_output=True,
        vjp=lambda g, a, xp: xp.where(xp.positive(a), g, g * LEAKY_SLOPE),
        formula=lambda z, xp: xp.where(xp.positive(z), z, z * LEAKY_SLOPE),
    )
)


def _elu(z, out=None):
    # expm1 only sees min(z, 0), so it never overflows; e^z - 1 >= z, so the max picks it below 0
    return np.maximum(z, np.expm1(np.minimum(z, 0)), out=out)


def _elu_formula(z, xp):
    positive = xp.positive(z)
    below = xp.where(positive, 0.0 * z, z)  # what expm1 sees: never large, never differentiated
    return xp.where(positive, z, xp.expm1(below))


register(
    Activation(
        name="elu",
        summary="z if z > 0 else e^z - 1; g' = 1 or a + 1",
        kernel=_elu,
        from_output=True,
        vjp=lambda g, a, xp: xp.where(xp.positive(a), g, g * (a + 1)),
        formula=_elu_formula,
    )
)

GELU_C = math.sqrt(2.0 / math.pi)
GELU_K = 0.044715


def _gelu(z, out=None):
    """0.5 z (1 + tanh(c (z + k z^3))), with c = sqrt(2/pi) and k = 0.044715.

    For |z| beyond about 1e154 (float64) or 1e19 (float32) z^2 overflows to inf; tanh(+-inf)
    = +-1 is then the right limit, so that overflow is silenced.
    """
    with np.errstate(over="ignore"):
        t = z * z
        t *= GELU_K
        t += 1
        t *= z
        t *= GELU_C
    t = np.tanh(t, out=t if isinstance(t, np.ndarray) else None)  # a scalar for 0-d z
    t += 1
    t *= 0.5
    return np.multiply(z, t, out=out)


def _gelu_vjp(g, z, xp):
    """g' = (1 + t)/2 + (z/2)(1 - t^2) c (1 + 3k z^2), with t = tanh(c (z + k z^3))."""
    t = xp.tanh(GELU_C * (z + GELU_K * z * z * z))
    return g * (0.5 * (1 + t) + 0.5 * z * (1 - t * t) * GELU_C * (1 + 3 * GELU_K * z * z))


register(
    Activation(
        name="gelu",
        summary="z (1 + tanh(sqrt(2/pi)(z + 0.044715 z^3)))/2; g' needs Z",
        kernel=_gelu,
        from_output=False,
        vjp=_gelu_vjp,
        formula=lambda z, xp: 0.5 * z * (1 + xp.tanh(GELU_C * (z + GELU_K * z * z * z))),
    )
)


def _silu(z, out=None):
    return np.multiply(z, _sigmoid(z), out=out)


def _silu_vjp(g, z, xp):
    """g' = s (1 + z (1 - s)), with s = sigmoid(z)."""
    s = xp.sigmoid(z)
    return g * (s * (1 + z * (1 - s)))


register(
    Activation(
        name="silu",
        summary="z sigmoid(z) (swish); g' needs Z",
        kernel=_silu,
        from_output=False,
        vjp=_silu_vjp,
        formula=lambda z, xp: z * xp.sigmoid(z),
    )
)


def _softsign(z, out=None):
    """z / (1 + |z|), into ``out`` when given."""
    d = np.abs(z)
    d += 1
    return np.divide(z, d, out=out)


def _softsign_vjp(g, a, xp):
    """g' = 1/(1 + |z|)^2 = (1 - |a|)^2, since |a| = |z|/(1 + |z|)."""
    d = 1 - xp.where(xp.positive(a), a, -a)
    return g * (d * d)


register(
    Activation(
        name="softsign",
        summary="z/(1+|z|); g' = (1 - |a|)^2",
        kernel=_softsign,
        from_output=True,
        vjp=_softsign_vjp,
        formula=lambda z, xp: z / (1 + xp.where(xp.positive(z), z, -z)),
    )
)
