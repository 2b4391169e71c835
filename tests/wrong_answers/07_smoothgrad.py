"""Realistic wrong answers for lab 07 (SmoothGrad); format in tests/wrong_answers/__init__.py."""

_SG_HEAD = '''def smoothgrad_saliency(model, inputs, target, noise_level=0.15, nt_samples=8, seed=0):
    """SmoothGrad of |dF_t/dx|: mean over nt_samples copies x + N(0, sigma^2), sigma = noise_level * range."""
'''

_EX2_VIZ = '''
viz.visualize_image_attr(to_hwc(vargrad_ixg), image, method="heat_map", sign="absolute_value", cmap="inferno",
                         fig_size=(4, 4), title="VarGrad of Input x Gradient", use_pyplot=True)
'''

WRONG_ANSWERS = [
    # ---------------------------------------------------------------- exercise 1
    dict(cell="ex1_smoothgrad_from_scratch", test="ex1_tests",
         mistake="averages the signed gradients (no abs)",
         diagnosis="mean of the signed gradients",
         source=_SG_HEAD + '''    sigma = noise_level * (inputs.max() - inputs.min()).item()
    copies = inputs.detach().repeat_interleave(nt_samples, dim=0)
    torch.manual_seed(seed)
    noisy = (copies + torch.randn(copies.shape) * sigma).requires_grad_(True)
    (grad,) = torch.autograd.grad(model(noisy)[:, target].sum(), noisy)
    return grad.reshape(len(inputs), nt_samples, *inputs.shape[1:]).mean(dim=1)
'''),
    dict(cell="ex1_smoothgrad_from_scratch", test="ex1_tests",
         mistake="noise of the wrong scale: noise_level used as an absolute standard deviation",
         diagnosis="standard deviation noise_level itself",
         source=_SG_HEAD + '''    copies = inputs.detach().repeat_interleave(nt_samples, dim=0)
    torch.manual_seed(seed)
    noisy = (copies + torch.randn(copies.shape) * noise_level).requires_grad_(True)
    (grad,) = torch.autograd.grad(model(noisy)[:, target].sum(), noisy)
    return grad.abs().reshape(len(inputs), nt_samples, *inputs.shape[1:]).mean(dim=1)
'''),
    dict(cell="ex1_smoothgrad_from_scratch", test="ex1_tests",
         mistake="sums the noisy maps instead of averaging them",
         diagnosis="scaled by a constant factor of 8",
         source=_SG_HEAD + '''    sigma = noise_level * (inputs.max() - inputs.min()).item()
    copies = inputs.detach().repeat_interleave(nt_samples, dim=0)
    torch.manual_seed(seed)
    noisy = (copies + torch.randn(copies.shape) * sigma).requires_grad_(True)
    (grad,) = torch.autograd.grad(model(noisy)[:, target].sum(), noisy)
    return grad.abs().reshape(len(inputs), nt_samples, *inputs.shape[1:]).sum(dim=1)
'''),
    dict(cell="ex1_smoothgrad_from_scratch", test="ex1_tests",
         mistake="calls Captum's NoiseTunnel instead of implementing the method",
         diagnosis="implement the method yourself",
         source=_SG_HEAD + '''    torch.manual_seed(seed)
    return NoiseTunnel(Saliency(model)).attribute(inputs, nt_samples=nt_samples, target=target,
                                                  stdevs=noise_level * (inputs.max() - inputs.min()).item())
'''),
    # ---------------------------------------------------------------- exercise 2
    dict(cell="ex2_vargrad", test="ex2_tests",
         mistake="nt_type smoothgrad (the mean) instead of vargrad",
         diagnosis="instead of 'vargrad'",
         source='''torch.manual_seed(0)
vargrad_ixg = NoiseTunnel(InputXGradient(model)).attribute(cat, nt_type="smoothgrad", nt_samples=4, stdevs=stdev,
                                                           target=pred)
''' + _EX2_VIZ),
    dict(cell="ex2_vargrad", test="ex2_tests",
         mistake="noise level passed as Captum's absolute stdevs (0.15 instead of 0.15 * range)",
         diagnosis="stdevs is absolute",
         source='''torch.manual_seed(0)
vargrad_ixg = NoiseTunnel(InputXGradient(model)).attribute(cat, nt_type="vargrad", nt_samples=4, stdevs=0.15,
                                                           target=pred)
''' + _EX2_VIZ),
    dict(cell="ex2_vargrad", test="ex2_tests",
         mistake="no seed: another random draw",
         diagnosis="check nt_samples and the seed",
         source='''vargrad_ixg = NoiseTunnel(InputXGradient(model)).attribute(cat, nt_type="vargrad", nt_samples=4, stdevs=stdev,
                                                           target=pred)
''' + _EX2_VIZ),
]
