"""Time helpers.reference against Captum on a ResNet18-shaped 224x224 input at the labs' settings.

Run: ``.venv/bin/python benchmarks/bench_reference.py [--repeat 3]``

For each method: median wall time of the reference and of Captum, their ratio, a lower bound (the
forward / forward+backward passes the method needs, each timed at its batch size in the same run)
and reference / lower bound. Goal: reference <= 1.1x Captum everywhere, <= 1x for occlusion and LIME.
"""
from __future__ import annotations

import argparse
import functools
import math
import statistics
import time
import warnings

import torch
import torchvision
from captum.attr import (
    InputXGradient,
    IntegratedGradients,
    LayerGradCam,
    LayerIntegratedGradients,
    Lime,
    NeuronGradient,
    NoiseTunnel,
    Occlusion,
    Saliency,
)

from helpers import reference as R

TARGET = 3
IG_STEPS = 50
NT_SAMPLES = 10
OCCLUSION = dict(sliding_window_shapes=(3, 15, 15), strides=(3, 8, 8), perturbations_per_eval=32)
LIME_SAMPLES = 200
PER_EVAL = 32


def median_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="repetitions per measurement (median)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None).eval()
    x = torch.randn(1, 3, 224, 224)
    # a smooth [0, 1] image for SLIC (about 50 segments)
    image = torch.nn.functional.interpolate(torch.rand(1, 3, 8, 8), size=(224, 224), mode="bilinear")
    mask = R.superpixel_mask(image, n_segments=50)
    n_segments = int(mask.max()) + 1

    pass_times: dict[tuple[str, int], float] = {}

    def forward(batch: int) -> float:
        if ("fwd", batch) not in pass_times:
            inputs = x.repeat(batch, 1, 1, 1)
            with torch.inference_mode():
                pass_times["fwd", batch] = median_time(lambda: model(inputs), args.repeat)
        return pass_times["fwd", batch]

    def forward_backward(batch: int) -> float:
        if ("fwdbwd", batch) not in pass_times:
            inputs = x.repeat(batch, 1, 1, 1).requires_grad_()
            pass_times["fwdbwd", batch] = median_time(
                lambda: torch.autograd.grad(model(inputs)[:, TARGET].sum(), inputs), args.repeat)
        return pass_times["fwdbwd", batch]

    def chunked_forwards(rows: int, per_eval: int) -> float:
        full, rest = divmod(rows, per_eval)
        return full * forward(per_eval) + (forward(rest) if rest else 0.0)

    windows = math.prod(math.ceil((224 - 15) / 8) + 1 for _ in range(2))
    saliency = functools.partial(R.vanilla_gradient, model)
    cases = [
        ("saliency", lambda: R.vanilla_gradient(model, x, TARGET),
         lambda: Saliency(model).attribute(x, target=TARGET), lambda: forward_backward(1)),
        ("input_x_gradient", lambda: R.input_x_gradient(model, x, TARGET),
         lambda: InputXGradient(model).attribute(x, target=TARGET), lambda: forward_backward(1)),
        (f"ig {IG_STEPS} steps", lambda: R.integrated_gradients(model, x, TARGET, n_steps=IG_STEPS),
         lambda: IntegratedGradients(model).attribute(x, target=TARGET, n_steps=IG_STEPS),
         lambda: forward_backward(IG_STEPS)),
        (f"smoothgrad {NT_SAMPLES}", lambda: R.smoothgrad(saliency, x, nt_samples=NT_SAMPLES, stdevs=0.2, target=TARGET),
         lambda: NoiseTunnel(Saliency(model)).attribute(x, nt_samples=NT_SAMPLES, stdevs=0.2, target=TARGET),
         lambda: forward_backward(NT_SAMPLES)),
        (f"occlusion {windows} win", lambda: R.occlusion(model, x, TARGET, **OCCLUSION),
         lambda: Occlusion(model).attribute(x, target=TARGET, **OCCLUSION),
         lambda: forward(1) + chunked_forwards(windows, OCCLUSION["perturbations_per_eval"])),
        ("gradcam layer4", lambda: R.gradcam(model, model.layer4, x, TARGET),
         lambda: LayerGradCam(model, model.layer4).attribute(x, target=TARGET), lambda: forward_backward(1)),
        (f"lime {LIME_SAMPLES}x{n_segments} seg",
         lambda: R.lime(model, x, TARGET, feature_mask=mask, n_samples=LIME_SAMPLES, perturbations_per_eval=PER_EVAL),
         lambda: Lime(model).attribute(x, target=TARGET, feature_mask=mask, n_samples=LIME_SAMPLES,
                                       perturbations_per_eval=PER_EVAL),
         lambda: chunked_forwards(LIME_SAMPLES, PER_EVAL)),
        (f"layer ig layer4 {IG_STEPS}", lambda: R.layer_integrated_gradients(model, model.layer4, x, TARGET, n_steps=IG_STEPS),
         lambda: LayerIntegratedGradients(model, model.layer4).attribute(x, target=TARGET, n_steps=IG_STEPS),
         lambda: 2 * forward(1) + forward_backward(IG_STEPS)),
        ("neuron gradient", lambda: R.neuron_gradient(model, model.layer4, x, (5, 3, 3)),
         lambda: NeuronGradient(model, model.layer4).attribute(x, (5, 3, 3)), lambda: forward_backward(1)),
    ]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, resnet18 (random weights), "
          f"input 1x3x224x224, median of {args.repeat}")
    header = f"{'method':26s} {'ref s':>8s} {'captum s':>9s} {'ref/cap':>8s} {'bound s':>8s} {'ref/bound':>9s}"
    print(header)
    print("-" * len(header))
    cases[0][1](), cases[0][2]()  # warm-up (first-call overheads, lazy imports)
    for name, reference_fn, captum_fn, bound_fn in cases:
        reference_time = median_time(reference_fn, args.repeat)
        captum_time = median_time(captum_fn, args.repeat)
        bound = bound_fn()
        print(f"{name:26s} {reference_time:8.3f} {captum_time:9.3f} {reference_time / captum_time:8.2f} "
              f"{bound:8.3f} {reference_time / bound:9.2f}", flush=True)


if __name__ == "__main__":
    main()
