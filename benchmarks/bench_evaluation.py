"""Time of each explanation metric of lab 10 per image, on the shapes model (32x32) of helpers.shapes.

    .venv/bin/python benchmarks/bench_evaluation.py [--images 16] [--threads 2] [--repeats 3]

Prints one table: metric, its settings, seconds per image (best of ``--repeats``). The attributions themselves
are computed once beforehand (IG, 32 steps), except for sensitivity-max, which re-explains by definition.
"""
from __future__ import annotations

import argparse
import warnings
import time

import torch
from captum.attr import IntegratedGradients, Saliency
from captum.metrics import infidelity, sensitivity_max

from helpers import evaluation, shapes


def best_time(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", message=".*did not already require gradients.*")

    start = time.perf_counter()
    model = shapes.train_model(shapes.make_shapes(2000, seed=0), epochs=3)
    print(f"training the shapes model (2000 images, 3 epochs): {time.perf_counter() - start:.1f} s")
    data = shapes.make_shapes(args.images, seed=1)
    x, y, masks = data.images, data.labels, data.masks
    attributions = IntegratedGradients(model).attribute(x, target=y, n_steps=32)
    maps = evaluation.attribution_map(attributions)
    probability = torch.nn.Sequential(model, torch.nn.Softmax(dim=1))
    blur = evaluation.blurred(x)
    randomized = evaluation.cascading_randomization(model)

    def sanity_check():
        for _, random_model in randomized:
            other = Saliency(random_model).attribute(x, target=y)
            evaluation.rank_correlation(maps, evaluation.attribution_map(other))

    def seeded(function):
        def run():
            torch.manual_seed(0)
            function()
        return run

    benchmarks = [
        ("pointing game", "", lambda: evaluation.pointing_game(maps, masks)),
        ("relevance mass", "", lambda: evaluation.relevance_mass(maps, masks)),
        ("deletion curve + AUC", "step 32 (33 points), blurred baseline",
         lambda: evaluation.area_under_curve(*evaluation.deletion_curve(probability, x, maps, y, blur, step=32))),
        ("deletion curve + AUC", "step 1 (1025 points)",
         lambda: evaluation.area_under_curve(*evaluation.deletion_curve(probability, x, maps, y, step=1))),
        ("insertion curve + AUC", "step 32, blurred baseline",
         lambda: evaluation.area_under_curve(*evaluation.insertion_curve(probability, x, maps, y, blur, step=32))),
        ("random-order AUC", "deletion, 3 orders, step 32",
         lambda: evaluation.random_order_auc(probability, x, y, n_orders=3, step=32)),
        ("captum infidelity", "20 noise samples",
         seeded(lambda: infidelity(model, evaluation.noise_perturbation(0.05), x, attributions, target=y,
                                   n_perturb_samples=20))),
        ("captum sensitivity_max", "Saliency, 10 samples",
         seeded(lambda: sensitivity_max(Saliency(model).attribute, x, target=y, n_perturb_samples=10))),
        ("cascading randomisation", f"Saliency, {len(randomized)} stages + Spearman", sanity_check),
        ("rank correlation", "Spearman of |maps|, 1024 pixels", lambda: evaluation.rank_correlation(maps, maps ** 2)),
    ]
    print(f"{args.images} images of 3x32x32, {args.threads} threads, best of {args.repeats}")
    print(f"{'metric':26s} {'settings':40s} {'ms per image':>12s}")
    for name, settings, function in benchmarks:
        seconds = best_time(function, args.repeats)
        print(f"{name:26s} {settings:40s} {1000 * seconds / args.images:12.3f}")


if __name__ == "__main__":
    main()
