"""manual's workspace promise for the output layer: a warm call of an mse network writes the
output layer's delta into the workspace (whose documented arrays hold what the step computed),
so it allocates nothing of the output layer's size beyond the gradients it returns."""

import numpy as np
import pytest
from conftest import peak_bytes

from backproof import manual, network
from backproof.manual.workspace import WORKSPACES
from backproof.network import NetworkSpec

pytestmark = pytest.mark.usefixtures("fresh_workspace_cache")


def wide_output_problem(output: str, m: int = 100):
    """An mse network whose output layer (50 x m) is the largest array of the step but for
    the gradient of W2 (50 x 400) it returns."""
    spec = NetworkSpec([2, 400, 50], activations=["tanh", output], loss="mse", seed=1)
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((2, m)), rng.random((50, m))
    return spec, network.init_params(spec), X, Y


@pytest.mark.parametrize("output", ["tanh", "sigmoid"])
def test_a_warm_mse_call_allocates_no_output_delta_of_its_own(output):
    spec, params, X, Y = wide_output_problem(output)
    manual.loss_and_grads(spec, params, X, Y, check=False)  # builds the workspace
    (_, grads), peak = peak_bytes(lambda: manual.loss_and_grads(spec, params, X, Y, check=False))
    returned = sum(g.nbytes for g in grads.values())
    output_array = Y.nbytes  # 40 kB: the delta dJ/dZ_2 had it been a new array
    assert peak < returned + output_array / 2


def test_the_workspace_holds_the_output_delta_after_a_call():
    """``Workspace.dZ_L`` is documented as the output layer's delta: after a call it holds
    dJ/dZ_L, the ``output_delta`` of the forward values."""
    spec, params, X, Y = wide_output_problem("tanh", m=7)
    ws = WORKSPACES.take(spec, X.shape[1])
    ws.dZ_L.fill(np.nan)  # what was there before the call must not survive it
    WORKSPACES.give(ws)
    manual.loss_and_grads(spec, params, X, Y)
    assert WORKSPACES.take(spec, X.shape[1]) is ws
    Zs, As = network.forward(spec, params, X)
    expected = manual.output_delta(spec, As[-1].copy(), Y, Zs[-1].copy())
    np.testing.assert_array_equal(ws.dZ_L, expected)
