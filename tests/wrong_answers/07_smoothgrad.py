"""Realistic wrong answers for lab 07 (SmoothGrad); format in tests/wrong_answers/__init__.py."""

_SG_HEAD = '''def smoothgrad_saliency(model, inputs, target, noise_level=0.15, nt_samples=8, seed=0, nt_type="smoothgrad"):
    """SmoothGrad of |dF_t/dx| over nt_samples noisy copies, sigma = noise_level * (max - min), as NoiseTunnel."""
'''

_SIGMA = '''    sigma = noise_level * (inputs.max() - inputs.min()).item()
'''

_COPIES = '''    copies = inputs.detach().repeat_interleave(nt_samples, dim=0)
    targets = torch.as_tensor(target, device=inputs.device).reshape(-1).expand(len(inputs))
    copy_targets = targets.repeat_interleave(nt_samples)
'''

_DRAW = '''    torch.manual_seed(seed)
    noisy = (copies + (torch.randn(copies.shape) * sigma).to(inputs.device)).requires_grad_(True)
'''

_GRAD = '''    outputs = model(noisy)
    (grad,) = torch.autograd.grad(outputs[torch.arange(len(noisy)), copy_targets].sum(), noisy)
    maps = grad.abs().reshape(len(inputs), nt_samples, *inputs.shape[1:])
'''

_REDUCE = '''    mean, mean_sq = maps.mean(dim=1), (maps ** 2).mean(dim=1)
    return {"smoothgrad": mean, "smoothgrad_sq": mean_sq, "vargrad": mean_sq - mean ** 2}[nt_type]
'''

_EX2_VIZ = '''
_ = viz.visualize_image_attr(to_hwc(vargrad_ixg), cat_image, method="heat_map", sign="absolute_value",
                             cmap="inferno", fig_size=(4, 4), title="VarGrad of Input x Gradient", use_pyplot=True)
'''

_CLASS_HEAD = '''class AbsoluteGradient(GradientAttribution):
    """|dF_t/dx| written from scratch, usable wherever Captum expects an attribution method."""

    def __init__(self, forward_func):
        super().__init__(forward_func)

    @log_usage()
    def attribute(self, inputs, target=None):
'''

WRONG_ANSWERS = [
    # ---------------------------------------------------------------- exercise 1
    dict(cell="ex1_smoothgrad_from_scratch", test="ex1_tests",
         mistake="ignores `seed`: always draws the noise of seed 0",
         diagnosis="with the `seed` argument", parts=["samples"],
         source=_SG_HEAD + _SIGMA + _COPIES + '''    torch.manual_seed(0)
    noisy = (copies + (torch.randn(copies.shape) * sigma).to(inputs.device)).requires_grad_(True)
''' + _GRAD + _REDUCE),
    dict(cell="ex1_smoothgrad_from_scratch", test="ex1_tests",
         mistake="ignores `noise_level`: always 15 % of the range",
         diagnosis="use the `noise_level` argument", parts=["noise"],
         source=_SG_HEAD + '''    sigma = 0.15 * (inputs.max() - inputs.min()).item()
''' + _COPIES + _DRAW + _GRAD + _REDUCE),
    dict(cell="ex1_smoothgrad_from_scratch", test="ex1_tests",
         mistake="noise of the wrong scale: noise_level used as an absolute standard deviation",
         diagnosis="standard deviation noise_level itself",
         source=_SG_HEAD + '''    sigma = noise_level
''' + _COPIES + _DRAW + _GRAD + _REDUCE),
    dict(cell="ex1_smoothgrad_from_scratch", test="ex1_tests",
         mistake="vargrad with torch.var's unbiased estimate (divides by nt_samples - 1)",
         diagnosis="unbiased variance", parts=["nt_type"],
         source=_SG_HEAD + _SIGMA + _COPIES + _DRAW + _GRAD + '''    if nt_type == "vargrad":
        return maps.var(dim=1)
    return maps.mean(dim=1) if nt_type == "smoothgrad" else (maps ** 2).mean(dim=1)
'''),
    dict(cell="ex1_smoothgrad_from_scratch", test="ex1_tests",
         mistake="per-sample targets repeated in the wrong order (.repeat instead of .repeat_interleave)",
         diagnosis="targets in the wrong order", parts=["targets"],
         source=_SG_HEAD + _SIGMA + '''    copies = inputs.detach().repeat_interleave(nt_samples, dim=0)
    targets = torch.as_tensor(target, device=inputs.device).reshape(-1).expand(len(inputs))
    copy_targets = targets.repeat(nt_samples)
''' + _DRAW + _GRAD + _REDUCE),
    dict(cell="ex1_smoothgrad_from_scratch", test="ex1_tests",
         mistake="noise scaled by each sample's own range instead of the batch's",
         diagnosis="each sample's own range",
         source=_SG_HEAD + '''    flat = inputs.reshape(len(inputs), -1)
    sigma = noise_level * (flat.amax(1) - flat.amin(1))
    sigma = sigma.repeat_interleave(nt_samples).view(-1, *([1] * (inputs.dim() - 1)))
''' + _COPIES + '''    torch.manual_seed(seed)
    noisy = (copies + torch.randn(copies.shape).to(inputs.device) * sigma).requires_grad_(True)
''' + _GRAD + _REDUCE),
    # ---------------------------------------------------------------- exercise 2
    dict(cell="ex2_vargrad", test="ex2_tests",
         mistake="nt_type smoothgrad (the mean) instead of vargrad",
         diagnosis="instead of 'vargrad'",
         source='''torch.manual_seed(0)
vargrad_ixg = NoiseTunnel(InputXGradient(model)).attribute(cat, nt_type="smoothgrad", nt_samples=4, stdevs=stdev,
                                                           target=predicted)
''' + _EX2_VIZ),
    dict(cell="ex2_vargrad", test="ex2_tests",
         mistake="noise level passed as Captum's absolute stdevs (0.15 instead of 0.15 * range)",
         diagnosis="stdevs is absolute",
         source='''torch.manual_seed(0)
vargrad_ixg = NoiseTunnel(InputXGradient(model)).attribute(cat, nt_type="vargrad", nt_samples=4, stdevs=0.15,
                                                           target=predicted)
''' + _EX2_VIZ),
    dict(cell="ex2_vargrad", test="ex2_tests",
         mistake="no seed: another random draw",
         diagnosis="NoiseTunnel is random",
         source='''vargrad_ixg = NoiseTunnel(InputXGradient(model)).attribute(cat, nt_type="vargrad", nt_samples=4, stdevs=stdev,
                                                           target=predicted)
''' + _EX2_VIZ),
    # ---------------------------------------------------------------- exercise 3
    dict(cell="ex3_own_method", test="ex3_tests",
         mistake="int targets only: outputs[:, target] with NoiseTunnel's tensor of targets sums all their logits",
         diagnosis="select one logit per row", parts=["batch"],
         source=_CLASS_HEAD + '''        with torch.enable_grad():
            inputs = inputs.detach().requires_grad_(True)
            outputs = self.forward_func(inputs)
            (grad,) = torch.autograd.grad(outputs[:, target].sum(), inputs)
        return grad.abs()
'''),
    dict(cell="ex3_own_method", test="ex3_tests",
         mistake="the signed gradient (no abs): equal under smoothgrad_sq only",
         diagnosis="absolute value", parts=["plain", "batch"],
         source=_CLASS_HEAD + '''        with torch.enable_grad():
            inputs = inputs.detach().requires_grad_(True)
            outputs = self.forward_func(inputs)
            targets = torch.as_tensor(target, device=inputs.device).reshape(-1).expand(len(inputs))
            (grad,) = torch.autograd.grad(outputs[torch.arange(len(inputs)), targets].sum(), inputs)
        return grad
'''),
    dict(cell="ex3_own_method", test="ex3_tests",
         mistake="the gradient of the softmax probability instead of the raw logit",
         diagnosis="softmax",
         source=_CLASS_HEAD + '''        with torch.enable_grad():
            inputs = inputs.detach().requires_grad_(True)
            outputs = self.forward_func(inputs).softmax(dim=1)
            targets = torch.as_tensor(target, device=inputs.device).reshape(-1).expand(len(inputs))
            (grad,) = torch.autograd.grad(outputs[torch.arange(len(inputs)), targets].sum(), inputs)
        return grad.abs()
'''),
]
