"""Hand-derived backpropagation in NumPy.

- the article's functions, corrected: ``init_params``, ``sigmoid``, ``forward_prop``,
  ``cost_function``, ``one_layer_backward``, ``backprop``, ``update_parameters``;
- the same calculus for every activation and loss: ``loss_and_grads(spec, params, X, Y)``;
- ``train(X, Y, spec_or_layer_dims, epochs, lr)``: batch gradient descent;
- ``workspace``: the arrays ``loss_and_grads`` reuses across calls (``workspace.configure``,
  ``workspace.clear``, ``workspace.stats``).
"""

if __name__ != "backproof.manual":  # the folder installs under the one import name
    raise ImportError(f"import backproof.manual, not {__name__}")


from . import workspace
from .article import (
    backprop,
    cost_function,
    forward_prop,
    init_params,
    linear_backward,
    one_layer_backward,
    sigmoid,
    train_article,
    update_parameters,
)
from .general import activation_backward, forward_in_place, loss_and_grads, output_delta, train

__all__ = [
    "init_params",
    "sigmoid",
    "forward_prop",
    "cost_function",
    "linear_backward",
    "one_layer_backward",
    "backprop",
    "update_parameters",
    "train",
    "train_article",
    "activation_backward",
    "output_delta",
    "forward_in_place",
    "loss_and_grads",
    "workspace",
]
