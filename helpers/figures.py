"""Figures of the course that are not attribution maps (those come from ``captum.attr.visualization``).

- :func:`draw_network`: a small fully connected network (``ToyModel``) drawn with every weight and bias.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import torch
from torch import nn

__all__ = ["draw_network"]


def draw_network(linears: list[nn.Linear], activations: list[str] | None = None, ax=None, title: str = ""):
    """Draw the layers ``linears`` (``nn.Linear``, in order) as nodes and edges labelled with their weights.

    Edge colour: blue for a positive weight, red for a negative one, width proportional to |w|. Each node of a layer
    after the input shows its bias and the activation in ``activations`` (one name per linear layer, e.g.
    ``["ReLU", ""]``). Returns the matplotlib Axes.
    """
    if not linears or not all(isinstance(layer, nn.Linear) for layer in linears):
        raise TypeError("linears should be a non-empty list of torch.nn.Linear layers")
    activations = activations or [""] * len(linears)
    sizes = [linears[0].in_features] + [layer.out_features for layer in linears]
    if ax is None:
        _, ax = plt.subplots(figsize=(2.8 * len(sizes), 1.1 * max(sizes) + 1.2))
    position = {}
    for column, size in enumerate(sizes):
        offset = (max(sizes) - size) / 2
        for row in range(size):
            position[column, row] = (column * 2.5, max(sizes) - 1 - row - offset)
    with torch.no_grad():
        strongest = max(float(layer.weight.abs().max()) for layer in linears) or 1.0
        for column, layer in enumerate(linears):
            for i in range(layer.out_features):
                for j in range(layer.in_features):
                    w = float(layer.weight[i, j])
                    (x0, y0), (x1, y1) = position[column, j], position[column + 1, i]
                    ax.plot([x0, x1], [y0, y1], color="tab:blue" if w > 0 else "tab:red" if w < 0 else "lightgray",
                            linewidth=0.5 + 3 * abs(w) / strongest, zorder=1)
                    t = 0.2 + 0.45 * i / max(1, layer.out_features - 1)  # labels of one target node spread out
                    ax.text(x0 + t * (x1 - x0), y0 + t * (y1 - y0), f"{w:g}", fontsize=8, ha="center", va="center",
                            bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none"}, zorder=3)
    names = ["x"] + ["h" if column < len(linears) else "F" for column in range(1, len(sizes))]
    for (column, row), (x, y) in position.items():
        ax.scatter([x], [y], s=900, color="white", edgecolor="black", zorder=2)
        ax.text(x, y, f"${names[column]}_{row}$", ha="center", va="center", fontsize=11, zorder=4)
        if column > 0:
            layer, act = linears[column - 1], activations[column - 1]
            label = f"b={float(layer.bias[row].detach()):g}" + (f"\n{act}" if act else "")
            ax.text(x, y + 0.32, label.replace("\n", ", "), fontsize=8, ha="center", va="bottom", zorder=4)
    ax.set_xlim(-0.8, 2.5 * (len(sizes) - 1) + 1.4)
    ax.set_ylim(-1, max(sizes))
    ax.axis("off")
    if title:
        ax.set_title(title)
    return ax
