"""Pictures of the calculus, written as PNG files with matplotlib (Agg when there is no display).

This module only draws: ``compare.study`` computes the numbers and hands them over with a title
and a caption (the network, the data, the learning rate, and what the reader should see), which
every figure prints under its axes.

- ``plot_cost_histories``: the training runs of the implementations, overlaid;
- ``plot_param_errors``: each implementation's error against each reference, per parameter,
  under the reference's tolerance;
- ``plot_step_sweep``: finite-difference error against step size, the V of truncation (guides
  ∝ h, h², h⁴) and round-off (∝ eps/h);
- ``plot_taylor_test``: |f(x + hv) − f(x) − h⟨g, v⟩| against h, beside guides of slope 2 and 1;
- ``plot_layer_grad_norms``: per-layer gradient norms during training, one panel per
  initialisation (vanishing gradients);
- ``plot_catalog_heatmap``: the relative error, layer by layer, of each wrong derivation.

Each returns the path of the PNG it wrote.
"""

from __future__ import annotations

import os
import textwrap

import matplotlib

if not os.environ.get("DISPLAY") and matplotlib.get_backend().lower() not in ("agg", "pdf", "svg"):
    matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import LogNorm  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

__all__ = [
    "plot_cost_histories",
    "plot_param_errors",
    "plot_step_sweep",
    "plot_taylor_test",
    "plot_layer_grad_norms",
    "plot_catalog_heatmap",
]

_CAPTION_CHARS_PER_INCH = 17  # at 8 points
_LINE_INCHES = 0.16


def _finish(fig, path, title: str, caption: str, legend: tuple | None = None) -> str:
    """Title on top, an optional legend row and the wrapped caption below the axes; save."""
    width, height = fig.get_size_inches()
    lines = textwrap.wrap(caption, int(width * _CAPTION_CHARS_PER_INCH)) if caption else []
    caption_h = len(lines) * _LINE_INCHES + (0.15 if lines else 0.0)
    legend_h = 0.4 if legend else 0.0
    fig.set_size_inches(width, height + caption_h + legend_h)
    total = height + caption_h + legend_h
    if lines:
        fig.text(0.015, 0.08 / total, "\n".join(lines), ha="left", va="bottom", fontsize=8)
    if legend:
        handles, labels = legend
        fig.legend(
            handles,
            labels,
            loc="lower center",
            bbox_to_anchor=(0.5, caption_h / total),
            ncol=len(labels) if len(labels) <= 6 else 4,
            fontsize=8,
            frameon=False,
        )
    fig.suptitle(title, fontsize=10.5)
    fig.tight_layout(rect=(0, (caption_h + legend_h) / total, 1, 1))
    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_cost_histories(histories: dict, path, *, title: str = "", caption: str = "") -> str:
    """Cost per epoch of each implementation (they should lie on top of each other)."""
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    styles = ["-", "--", ":", "-."]
    for i, (name, hist) in enumerate(histories.items()):
        ax.plot(np.arange(len(hist)), hist, styles[i % 4], lw=2.2 - 0.6 * i, label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel("cost J")
    ax.legend()
    return _finish(fig, path, title or "training runs from the same start", caption)


def plot_param_errors(
    errors: dict,
    params: list,
    tolerances: dict,
    path,
    *,
    passed: dict | None = None,
    title: str = "",
    caption: str = "",
) -> str:
    """Bars of ``errors[reference][implementation][i]`` for parameter ``params[i]``, one panel
    per reference, on a log axis with an explicit bottom; exact zeros are marked "0" on that
    bottom, ``tolerances[reference] = (value, label)`` is drawn as a line, and a bar whose
    ``passed[reference][implementation][i]`` is False is hatched."""
    refs = list(errors)
    impls = list(next(iter(errors.values())))
    values = np.array([errors[r][i] for r in refs for i in impls], dtype=float)
    positive = values[values > 0]
    tol_values = [tolerances[r][0] for r in refs if r in tolerances]
    low = positive.min() if positive.size else min(tol_values, default=1.0) * 1e-3
    bottom = 10.0 ** (np.floor(np.log10(low)) - 1)
    top = 10.0 ** (np.ceil(np.log10(max([*positive, *tol_values, bottom * 10]))) + 1)

    fig, axes = plt.subplots(
        1, len(refs), figsize=(3.4 * len(refs) + 0.6, 3.6), squeeze=False, sharey=True
    )
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    width = 0.8 / max(len(impls), 1)
    x = np.arange(len(params))
    for ax, ref in zip(axes[0], refs):
        for k, impl in enumerate(impls):
            v = np.asarray(errors[ref][impl], dtype=float)
            pos = x + (k - (len(impls) - 1) / 2) * width
            shown = v > 0
            ok = np.ones(len(v), bool) if passed is None else np.asarray(passed[ref][impl], bool)
            for group, hatch in ((shown & ok, None), (shown & ~ok, "///")):
                ax.bar(pos[group], v[group] - bottom, width, bottom=bottom, color=colors[k % 10],
                       hatch=hatch, edgecolor="black" if hatch else None)  # fmt: skip
            ax.plot(pos[~shown], np.full((~shown).sum(), bottom * 2.2), ls="", marker="$0$",
                    ms=7, color=colors[k % 10])  # fmt: skip
        if ref in tolerances:
            value, label = tolerances[ref]
            ax.axhline(value, color="crimson", ls="--", lw=1.2)
            ax.text(0.02, value * 1.6, label, color="crimson", fontsize=7, ha="left",
                    transform=ax.get_yaxis_transform())  # fmt: skip
        ax.set_yscale("log")
        ax.set_ylim(bottom, top)
        ax.set_xticks(x)
        ax.set_xticklabels(params)
        ax.set_title(f"against {ref}", fontsize=9)
    axes[0][0].set_ylabel("max |g − ref| / max |ref|")
    handles = [plt.Rectangle((0, 0), 1, 1, color=colors[k % 10]) for k in range(len(impls))]
    handles.append(Line2D([], [], ls="", marker="$0$", ms=7, color="0.3"))
    labels = [*impls, "exactly 0 (bit-identical)"]
    return _finish(
        fig, path, title or "gradient error per parameter", caption, legend=(handles, labels)
    )


def plot_step_sweep(sweep, path, *, title: str = "", caption: str = "") -> str:
    """The V: truncation error falls with h as h, h², h⁴ (grey guides, each drawn a little below
    its method's points); round-off grows as eps·|f|/h; dotted verticals mark the fixed steps
    and a shaded band check_grad's step ladder. ``sweep`` is a ``study.StepSweep``."""
    fig, ax = plt.subplots(figsize=(6.6, 4.2))
    h = np.asarray(sweep.steps, dtype=float)
    eps = np.finfo(float).eps
    roundoff = eps * abs(sweep.f0) / h
    lines = {}
    for name, power, guide in (("forward", 1, "h"), ("central", 2, "h²"), ("richardson", 4, "h⁴")):
        err = np.asarray(getattr(sweep, name), dtype=float)
        (line,) = ax.loglog(h, np.where(err > 0, err, np.nan), "o-", ms=3, label=name)
        lines[name] = line
        first = int(np.argmax(h))  # the largest step: deep in the truncation regime
        if err[first] > 0:
            g = 0.25 * err[first] * (h / h[first]) ** power
            keep = g >= roundoff  # the truncation side of the V
            if not keep.any():  # already at round-off at the largest step: no guide to draw
                continue
            ax.loglog(h[keep], g[keep], color="0.55", ls="--", lw=1)
            mid = np.flatnonzero(keep)[len(np.flatnonzero(keep)) // 2]
            ax.text(h[mid], g[mid] / 3, f"∝ {guide}", color="0.35", fontsize=8, va="top")
    ax.loglog(h, roundoff, color="0.55", ls="-.", lw=1)
    ax.text(h.min(), roundoff.max(), " ∝ eps·|f|/h", color="0.35", fontsize=8, va="bottom")
    for name, step in sweep.classic_steps.items():
        ax.axvline(step, color=lines[name].get_color(), ls=":", lw=1)
        ax.text(step, 0.02, f" {name} fixed step", fontsize=7, rotation=90, va="bottom",
                color="0.3", transform=ax.get_xaxis_transform())  # fmt: skip
    ladder = np.asarray(sweep.ladder, dtype=float)
    ax.axvspan(ladder.min(), ladder.max(), color="0.9", zorder=0)
    ax.text(np.sqrt(ladder.min() * ladder.max()), 0.98, "check_grad's ladder", fontsize=7,
            ha="center", va="top", color="0.35", transform=ax.get_xaxis_transform())  # fmt: skip
    ax.set_xlabel("step h")
    ax.set_ylabel("|estimate − exact|")
    ax.legend(loc="lower left", fontsize=8)
    return _finish(fig, path, title or "finite differences against step size", caption)


def plot_taylor_test(results: dict, path, *, title: str = "", caption: str = "") -> str:
    """Taylor remainders of several gradients (name -> ``study.TaylorTest``), each with its
    fitted slope, and guides of slope 2 and slope 1 drawn a factor 8 below the first and last."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for name, r in results.items():
        rem = np.asarray(r.remainder, dtype=float)
        ax.loglog(r.h, np.where(rem > 0, rem, np.nan), "o-", label=f"{name}: slope {r.slope:.2f}")
    named = list(results.values())
    for r, power, style in ((named[0], 2, ":"), (named[-1], 1, "--")):
        h = np.asarray(r.h, dtype=float)
        anchor = float(np.asarray(r.remainder)[np.argmax(h)]) / 8
        ax.loglog(h, anchor * (h / h.max()) ** power, color="0.3", ls=style, lw=1.2,
                  label=f"slope {power} (guide)", zorder=1)  # fmt: skip
    ax.set_xlabel("h")
    ax.set_ylabel("|f(x + h v) − f(x) − h ⟨g, v⟩|")
    ax.legend(fontsize=8, loc="lower right")
    return _finish(fig, path, title or "Taylor test: slope 2 means the gradient is right", caption)


def plot_layer_grad_norms(norms: dict, path, *, title: str = "", caption: str = "") -> str:
    """One panel per initialisation: ‖dJ/dW_l‖ per epoch, one line per layer (log scale)."""
    fig, axes = plt.subplots(
        1, len(norms), figsize=(3.4 * len(norms) + 0.6, 3.4), squeeze=False, sharey=True
    )
    for ax, (name, arr) in zip(axes[0], norms.items()):
        arr = np.asarray(arr, dtype=float)
        for l in range(arr.shape[1]):
            ax.semilogy(np.where(arr[:, l] > 0, arr[:, l], np.nan), label=f"layer {l + 1}")
        ax.set_title(f"init: {name}", fontsize=9)
        ax.set_xlabel("epoch")
    axes[0][0].set_ylabel("‖dJ/dW_l‖")
    handles, labels = axes[0][0].get_legend_handles_labels()
    return _finish(
        fig, path, title or "gradient norms per layer", caption, legend=(handles, labels)
    )


def plot_catalog_heatmap(catalog, path, *, title: str = "", caption: str = "") -> str:
    """Rows: wrong derivations; columns: layers; colour: relative error (log scale). Cells
    without a number say why ("missing", "shape", "non-finite"); "—" is a layer the network
    does not have. ``catalog`` is a ``study.CatalogErrors``."""
    errors = np.asarray(catalog.errors, dtype=float)
    n, L = errors.shape
    positive = errors[np.isfinite(errors) & (errors > 0)]
    vmin = max(float(positive.min()) if positive.size else 1e-16, 1e-17)
    vmax = max(float(positive.max()) if positive.size else 1.0, vmin * 10)
    norm = LogNorm(vmin=vmin, vmax=vmax)
    cmap = plt.get_cmap("magma_r").with_extremes(bad="0.88")
    fig, ax = plt.subplots(figsize=(7.2, 0.34 * n + 1.2))
    shown = np.where(np.isfinite(errors) & (errors > 0), errors, np.nan)
    image = ax.imshow(shown, cmap=cmap, norm=norm, aspect="auto")
    for i in range(n):
        for j in range(L):
            v = errors[i, j]
            mark = catalog.marks.get((i, j))
            if mark:
                text, dark = mark, bool(np.isfinite(v) and norm(v) > 0.55)
            elif np.isnan(v):
                text, dark = "—", False
            elif v == 0:
                text, dark = "0", False
            else:
                text, dark = f"{v:.0e}", norm(v) > 0.55
            ax.text(j, i, text, ha="center", va="center", fontsize=7,
                    color="white" if dark else "black")  # fmt: skip
    ax.set_xticks(range(L))
    ax.set_xticklabels([f"layer {l + 1}" for l in range(L)])
    ax.set_yticks(range(n))
    ax.set_yticklabels([f"{a}  ({b})" for a, b in zip(catalog.names, catalog.networks)], fontsize=8)
    bar = fig.colorbar(image, ax=ax, pad=0.02)
    bar.set_label("‖g_l − r_l‖ / ‖r_l‖", fontsize=8)
    return _finish(fig, path, title or "the catalog of wrong derivations, layer by layer", caption)
