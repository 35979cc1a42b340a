"""DeepFool and DFAL on CUDA give the CPU answers (skipped without a GPU)."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
import torch

from skdfal import DFALMargin, deepfool
from skdfal.attacks import first_order_margins
from skdfal.strategies import screen_pool

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA"),
]


@pytest.fixture
def exact_cuda():
    # TF32 convolutions/matmuls would differ from the CPU in the 3rd digit.
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


@pytest.fixture
def modules(fitted_net):
    cpu = copy.deepcopy(fitted_net.module_).eval()
    return cpu, copy.deepcopy(cpu).cuda()


@pytest.mark.parametrize("kwargs", [{}, {"candidates": 3}, {"clip": (0.0, 1.0)}, {"norm": float("inf")}])
def test_deepfool_on_cuda_matches_cpu(modules, digits, exact_cuda, kwargs):
    cpu, gpu = modules
    x = torch.as_tensor(digits[0][:80])
    ref = deepfool(cpu, x, **kwargs)
    res = deepfool(gpu, x.cuda(), **kwargs)
    assert res.norms.device.type == "cuda" and res.perturbations.device.type == "cuda"
    np.testing.assert_array_equal(res.labels.cpu().numpy(), ref.labels.numpy())
    np.testing.assert_array_equal(res.converged.cpu().numpy(), ref.converged.numpy())
    assert res.converged.all()
    np.testing.assert_allclose(res.norms.cpu().numpy(), ref.norms.numpy(), rtol=1e-3)
    flipped = gpu(x.cuda() + res.perturbations).argmax(1) != res.labels
    assert flipped.all()
    # CPU input with a CUDA module: computed on the GPU, answered on the CPU.
    back = deepfool(gpu, x, **kwargs)
    assert back.norms.device.type == "cpu"


def test_dfal_query_on_cuda_matches_cpu(modules, digits, exact_cuda):
    cpu, gpu = modules
    X = digits[0][200:500]
    idx_cpu, s_cpu = DFALMargin(batch_size=64)(cpu, X, n_instances=10)
    idx_gpu, s_gpu = DFALMargin(batch_size=64)(gpu, X, n_instances=10)
    assert isinstance(s_gpu, np.ndarray)
    np.testing.assert_allclose(s_gpu, s_cpu, rtol=1e-3)
    assert len(set(idx_gpu.tolist()) & set(idx_cpu.tolist())) >= 9


def test_iteration_loop_syncs_only_for_the_stop_test(modules, digits):
    _, gpu = modules
    x = torch.as_tensor(digits[0][:128]).cuda()
    torch.cuda.synchronize()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            res = deepfool(gpu, x, batch_size=None)
        finally:
            torch.cuda.set_sync_debug_mode("default")
    syncs = sum("synchroniz" in str(w.message).lower() for w in caught)
    iterations = int(res.n_iter.max()) + 1
    # One sync per iteration for the stop test (plus a few outside the loop);
    # a sync per class and iteration would be ~9 times as many.
    assert syncs <= 2 * iterations + 4, syncs


def test_screening_on_cuda_matches_cpu(modules, digits, exact_cuda):
    cpu, gpu = modules
    X = digits[0][200:600]
    x = torch.as_tensor(X)
    ref = first_order_margins(cpu, x)
    res = first_order_margins(gpu, x.cuda())
    assert res.margins.device.type == "cuda"
    np.testing.assert_array_equal(res.labels.cpu().numpy(), ref.labels.numpy())
    np.testing.assert_allclose(res.margins.cpu().numpy(), ref.margins.numpy(), rtol=1e-3)
    picks = screen_pool(cpu, X, 10, batch_size=64)
    # An array (rows read again) and a generator (rows kept on the GPU while streaming).
    for pool in (X, (X[i : i + 50] for i in range(0, len(X), 50))):
        got = screen_pool(gpu, pool, 10, batch_size=64)
        assert len(set(got.indices.tolist()) & set(picks.indices.tolist())) >= 9
        np.testing.assert_allclose(np.sort(got.margins), np.sort(picks.margins), rtol=1e-3)
    idx, _ = DFALMargin(screening=True, batch_size=64)(gpu, X, n_instances=10)
    exact, _ = DFALMargin(batch_size=64)(gpu, X, n_instances=10)
    np.testing.assert_array_equal(idx, exact)


def test_first_order_margins_sync_once_per_batch(modules, digits):
    _, gpu = modules
    x = torch.as_tensor(digits[0][:512]).cuda()
    torch.cuda.synchronize()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            first_order_margins(gpu, x, batch_size=128)
        finally:
            torch.cuda.set_sync_debug_mode("default")
    syncs = sum("synchroniz" in str(w.message).lower() for w in caught)
    assert syncs <= 2, syncs  # the input's finiteness check; nothing per batch or sample
