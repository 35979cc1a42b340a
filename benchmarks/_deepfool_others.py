"""The other DeepFool implementations deepfool_speed.py times against skdfal's, at its settings.

Each returns ``(x_adv, per-sample iterations or None)``: torchattacks, ART,
foolbox (``pip install -e ".[bench]"``) and two per-sample reference loops.
"""

from __future__ import annotations

import math

import numpy as np
import torch

MAX_ITER, OVERSHOOT, CLIP = 50, 0.02, (0.0, 1.0)
WIDE = (-1e4, 1e4)  # "no box" for libraries that insist on bounds


def run_torchattacks(model, X, labels):
    import torchattacks

    atk = torchattacks.DeepFool(model, steps=MAX_ITER, overshoot=OVERSHOOT)
    steps = []
    inner = atk._forward_indiv

    def counted(image, label):  # one gradient step per call that does not stop
        out = inner(image, label)
        if not out[0]:
            steps.append(1)
        return out

    atk._forward_indiv = counted
    # It attacks the given labels: give it the model's own predictions, as the others do.
    x_adv = atk(X, labels)
    return x_adv, torch.tensor([len(steps) / len(X)] * len(X), dtype=torch.float64)


def run_art(model, X, batch_size=1):
    from art.attacks.evasion import DeepFool
    from art.estimators.classification import PyTorchClassifier

    clf = PyTorchClassifier(
        model, loss=torch.nn.CrossEntropyLoss(), input_shape=tuple(X.shape[1:]),
        nb_classes=10, clip_values=None, device_type="gpu" if X.is_cuda else "cpu",
    )
    atk = DeepFool(clf, max_iter=MAX_ITER, epsilon=OVERSHOOT, batch_size=batch_size, verbose=False)
    iters = None
    if batch_size == 1:
        # ART counts no iterations; with one sample per batch every predict call
        # after the first (the whole pool) is one gradient step of one sample.
        calls = []
        predict = clf.predict

        def counted(x, *a, **k):
            calls.append(len(x))
            return predict(x, *a, **k)

        clf.predict = counted
    x_adv = torch.from_numpy(atk.generate(X.cpu().numpy())).to(X.device)
    if batch_size == 1:
        iters = torch.full((len(X),), (len(calls) - 1) / len(X), dtype=torch.float64)
    return x_adv, iters


def run_foolbox(model, X, labels):
    import foolbox as fb

    fmodel = fb.PyTorchModel(model, bounds=WIDE, device=X.device)
    atk = fb.attacks.L2DeepFoolAttack(steps=MAX_ITER, candidates=10, overshoot=OVERSHOOT)
    raw, _, _ = atk(fmodel, X, fb.criteria.Misclassification(labels), epsilons=None)
    return raw, None


def run_loop(model, X, step_eps=1e-4):
    """Plain reference: one sample and one class gradient at a time (same maths as skdfal)."""
    advs, iters = [], []
    scale = 1.0 + OVERSHOOT
    for i in range(len(X)):
        x0 = X[i : i + 1]
        with torch.no_grad():
            logits0 = model(x0)[0]
        label = int(logits0.argmax())
        r = torch.zeros_like(x0)
        n = 0
        for it in range(MAX_ITER + 1):
            x = (x0 + scale * r).requires_grad_(True)
            logits = model(x)[0]
            if it > 0 and int(logits.argmax()) != label or it == MAX_ITER:
                break
            best = (math.inf, None, None)
            for k in range(logits.shape[0]):
                if k == label:
                    continue
                f = logits[k] - logits[label]
                (w,) = torch.autograd.grad(f, x, retain_graph=True)
                wn = float(w.norm())
                f_abs = abs(f.item())
                d = f_abs / wn if wn > 0 else math.inf
                if d < best[0]:
                    best = (d, f_abs, w)
            _, f_abs, w = best
            r = r + (f_abs + step_eps) / float(w.norm()) ** 2 * w
            n += 1
        advs.append(x0 + scale * r)
        iters.append(n)
    return torch.cat(advs), torch.tensor(iters, dtype=torch.float64)


def run_loop_backward(model, X, step_eps=1e-4):
    """Per-sample loop written the way DeepAL-style active learning code is.

    Same maths as ``run_loop`` (and the corrected argmin), but with the habits
    of that code: every class gradient, the predicted class's included, is
    accumulated into ``x.grad`` by ``.backward()``, copied and zeroed; the
    distances are computed on the host one class at a time; and the flip test
    is a fresh forward pass after each step.  With weights that require grad
    (``--as-trained``), every backward pass also fills the weight gradients.
    """
    advs, iters = [], []
    scale = 1.0 + OVERSHOOT
    for i in range(len(X)):
        x = X[i : i + 1].clone().requires_grad_(True)
        r = torch.zeros_like(x)
        out = model(x + scale * r)
        label = int(out.argmax(1))
        n = 0
        while int(out.argmax(1)) == label and n < MAX_ITER:
            out[0, label].backward(retain_graph=True)
            grad_label = x.grad.clone()
            best_d, best_w, best_f = math.inf, None, None
            for k in range(out.shape[1]):
                if k == label:
                    continue
                x.grad.zero_()
                out[0, k].backward(retain_graph=True)
                w = (x.grad.clone() - grad_label).cpu().numpy()
                f = abs(float((out[0, k] - out[0, label]).detach()))
                w_norm = float(np.linalg.norm(w.ravel()))
                if w_norm > 0 and f / w_norm < best_d:
                    best_d, best_w, best_f = f / w_norm, w, f
            step = (best_f + step_eps) / float(np.linalg.norm(best_w.ravel())) ** 2 * best_w
            r = r + torch.from_numpy(step).to(x.device)
            x.grad.zero_()
            out = model(x + scale * r)
            n += 1
        advs.append((x + scale * r).detach())
        iters.append(n)
        if any(p.grad is not None for p in model.parameters()):
            model.zero_grad(set_to_none=True)
    return torch.cat(advs), torch.tensor(iters, dtype=torch.float64)
