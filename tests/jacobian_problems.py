"""Two small problems with their derivatives written by hand, for the tests of the Jacobian and
Hessian checks: f(x) = tanh(A x) from 4 inputs to 3 outputs, with its Jacobian
diag(1 - tanh(A x)^2) A, and the cubic sum(x^3), whose Hessian-vector product is 6 x v."""

import numpy as np

A = np.array([[1.0, 2.0, -1.0, 0.5], [0.3, -0.7, 1.1, 0.2], [0.9, 0.4, -0.2, -1.3]])
X4 = np.array([0.3, -0.2, 0.5, 0.1])


def f(x):
    return np.tanh(A @ x)


def jac(x):
    return (1 - np.tanh(A @ x) ** 2)[:, None] * A


def vjp(x, v):
    return v @ jac(x)


def jvp(x, u):
    return jac(x) @ u


def cube(x):
    return np.sum(x**3)


def cube_hvp(x, v):
    return 6 * x * v
