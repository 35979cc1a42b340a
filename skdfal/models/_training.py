"""Training from few labels: a step budget with a learning-rate schedule, and random shifts.

Active learning retrains a network from scratch on a few dozen to a few
thousand labels, every round.  A fixed number of epochs then means a handful
of optimiser steps on the first rounds and too many later, and accuracy
jumps from round to round with the noise of training.  Two skorch callbacks
fix that for any skorch net (``make_classifier`` installs both):

* :class:`StepBudget` trains for a number of optimiser steps that depends on
  the size of the training set (or is given), with a one-cycle or cosine
  learning-rate schedule over exactly those steps;
* :class:`RandomShift` moves each training image by a few pixels (zero
  padded), a light augmentation for images of MNIST's size and up.
"""

from __future__ import annotations

import math
import numbers

import torch
import torch.nn.functional as F
from skorch.callbacks import Callback

from ..utils._validation import check_count

__all__ = ["RandomShift", "StepBudget", "auto_steps", "batches_per_epoch"]


def auto_steps(n_samples: int) -> int:
    """The default step budget for ``n_samples`` training samples: ``clip(1.5 n, 300, 900)``.

    Enough steps that a few labels are seen many times, not so many that a
    large set costs more than it gains (chosen on MNIST with a validation
    split, docs/results.md).

    Examples
    --------
    >>> from skdfal.models import auto_steps
    >>> auto_steps(20), auto_steps(400), auto_steps(5000)
    (300, 600, 900)
    """
    return int(min(max(math.ceil(1.5 * n_samples), 300), 900))


def batches_per_epoch(n_samples: int, batch_size: int, full_batches: bool = False) -> int:
    """Training minibatches in one epoch over ``n_samples``.

    ``full_batches=False`` is torch's default: ``ceil(n / batch_size)``, the
    last batch holding the remainder.  ``full_batches=True`` drops that
    remainder (different samples each shuffled epoch), so that every step
    averages ``batch_size`` samples; a set smaller than ``batch_size`` is one
    batch of all of it.

    Examples
    --------
    >>> from skdfal.models import batches_per_epoch
    >>> batches_per_epoch(100, 32), batches_per_epoch(100, 32, full_batches=True)
    (4, 3)
    >>> batches_per_epoch(20, 32, full_batches=True)
    1
    """
    if batch_size <= 0:
        return 1
    if full_batches:
        return max(1, n_samples // batch_size)
    return max(1, math.ceil(n_samples / batch_size))


class StepBudget(Callback):
    """Train for a set number of optimiser steps, with a learning-rate schedule over them.

    Parameters
    ----------
    steps : "auto", int or callable, default="auto"
        Optimiser steps per ``fit``: ``"auto"`` is :func:`auto_steps` of the
        training-set size, a callable maps that size to steps, an int is used
        as it is (the same budget whatever the size: what a benchmark needs
        to compare strategies whose training sets differ in size at the same
        number of labels).  Rounded up to whole epochs.
    schedule : {"onecycle", "cosine", None}, default="onecycle"
        ``"onecycle"``: warm-up over ``pct_start`` of the steps to ``max_lr``,
        then cosine annealing (torch's ``OneCycleLR``); ``"cosine"``: cosine
        decay from ``max_lr``; ``None``: the optimiser's constant rate.
    max_lr : float or None, default=None
        Peak learning rate (``None``: the net's ``lr``).
    pct_start : float, default=0.25
        Warm-up share of the one-cycle schedule.

    Notes
    -----
    Training stops when the budget is spent, as skorch's ``EarlyStopping``
    does: the net's ``max_epochs`` must allow the epochs needed
    (:class:`~skdfal.SeededNeuralNetClassifier` takes them from the budget).

    Examples
    --------
    >>> from skorch import NeuralNetClassifier
    >>> from skdfal.models import StepBudget
    >>> import torch
    >>> net = NeuralNetClassifier(torch.nn.Linear(4, 3), max_epochs=1000, train_split=None,
    ...                           criterion=torch.nn.CrossEntropyLoss, verbose=0,
    ...                           callbacks=[("budget", StepBudget(steps=50))])
    >>> X, y = torch.randn(64, 4), torch.randint(0, 3, (64,))
    >>> len(net.fit(X, y).history)   # 50 steps of batch 128 on 64 samples: 50 epochs
    50
    """

    def __init__(self, steps="auto", schedule="onecycle", max_lr=None, pct_start=0.25):
        self.steps = steps
        self.schedule = schedule
        self.max_lr = max_lr
        self.pct_start = pct_start

    def _check(self):
        if not (self.steps == "auto" or callable(self.steps)):
            check_count(self.steps, "steps", error=ValueError, alternatives="'auto', a callable or ")
        if self.schedule not in ("onecycle", "cosine", None):
            raise ValueError(f"schedule must be 'onecycle', 'cosine' or None, got {self.schedule!r}")
        if self.max_lr is not None and not (isinstance(self.max_lr, numbers.Real) and self.max_lr > 0):
            raise ValueError(f"max_lr must be None or a number > 0, got {self.max_lr!r}")
        if not (isinstance(self.pct_start, numbers.Real) and 0 < self.pct_start < 1):
            raise ValueError(f"pct_start must be in (0, 1), got {self.pct_start!r}")

    def plan(self, n_samples: int, batch_size: int, full_batches: bool = False) -> tuple[int, int]:
        """``(epochs, batches per epoch)`` for a training set of ``n_samples``.

        With ``full_batches`` an epoch holds only whole batches (see
        :func:`batches_per_epoch`).
        """
        self._check()
        if self.steps == "auto":
            steps = auto_steps(n_samples)
        elif callable(self.steps):
            steps = int(self.steps(n_samples))
        else:
            steps = int(self.steps)
        per_epoch = batches_per_epoch(n_samples, batch_size, full_batches)
        return max(1, math.ceil(steps / per_epoch)), per_epoch

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        batch_size = net.batch_size if net.batch_size != -1 else len(X)
        self.epochs_, per_epoch = self.plan(len(X), batch_size, bool(getattr(net, "full_batches", False)))
        if net.max_epochs < self.epochs_ and not getattr(net, "_plans_epochs_from_budget", False):
            raise ValueError(
                f"the step budget needs {self.epochs_} epochs but max_epochs={net.max_epochs}: "
                "raise max_epochs (training stops when the budget is spent)"
            )
        self.epochs_done_ = 0
        self.steps_per_epoch_ = per_epoch
        total = self.epochs_ * per_epoch
        peak = float(self.max_lr if self.max_lr is not None else net.lr)
        optimizer = net.optimizer_
        if self.schedule == "onecycle":
            self.scheduler_ = torch.optim.lr_scheduler.OneCycleLR(
                optimizer, max_lr=peak, total_steps=total, pct_start=float(self.pct_start)
            )
        elif self.schedule == "cosine":
            for group in optimizer.param_groups:
                group["lr"] = peak
            self.scheduler_ = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total)
        else:
            self.scheduler_ = None

    def on_batch_end(self, net, training=False, **kwargs):
        if not training or self.scheduler_ is None:
            return
        # One-cycle refuses to step past its end (a partial last epoch of a
        # user-cut iterator could ask for one more).
        if self.scheduler_.last_epoch < getattr(self.scheduler_, "total_steps", math.inf):
            self.scheduler_.step()

    def on_epoch_end(self, net, **kwargs):
        self.epochs_done_ += 1
        if self.epochs_done_ >= self.epochs_:
            raise KeyboardInterrupt  # skorch ends training quietly, as for EarlyStopping


class RandomShift(Callback):
    """Shift every training image by a random number of pixels (zero padded).

    Parameters
    ----------
    max_shift : "auto" or int, default="auto"
        Largest shift along each axis; ``"auto"`` is ``min(height, width) // 14``
        pixels: 2 for MNIST's 28x28, none for digits' 8x8, where a 1-pixel
        shift moves an eighth of the image and the net underfits (measured:
        73% instead of 85% held-out accuracy at 100 labels).  0 turns it off.

    flip : bool, default=False
        Also mirror each image left-right with probability 1/2: label
        preserving for photographs of objects, not for digits or text, so
        it is the user's choice.

    Only 4-D float batches ``(n, channels, height, width)`` in training are
    shifted (every channel alike, any number of them); prediction and
    DeepFool see the images as they are.

    Examples
    --------
    >>> import torch
    >>> from skdfal.models import RandomShift
    >>> x = torch.zeros(1, 1, 5, 5); x[0, 0, 2, 2] = 1.0
    >>> torch.manual_seed(0) and None
    >>> RandomShift(max_shift=1).on_batch_begin(None, batch=(x, None), training=True)
    >>> float(x.sum()), bool(x[0, 0, 1:4, 1:4].sum() == 1)
    (1.0, True)
    """

    def __init__(self, max_shift="auto", flip=False):
        self.max_shift = max_shift
        self.flip = flip

    def _shift_for(self, height, width) -> int:
        if self.max_shift == "auto":
            return min(height, width) // 14
        return check_count(self.max_shift, "max_shift", minimum=0, error=ValueError, alternatives="'auto' or ")

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if not training or batch is None:
            return
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        if not (isinstance(x, torch.Tensor) and x.ndim == 4 and x.is_floating_point()):
            return
        n, _, h, w = x.shape
        s = self._shift_for(h, w)
        if not isinstance(self.flip, bool):
            raise ValueError(f"flip must be True or False, got {self.flip!r}")
        if self.flip and n:
            mirrored = torch.rand(n, device=x.device) < 0.5
            x[mirrored] = x[mirrored].flip(-1)
        if s == 0 or n == 0:
            return
        # Crop a (h, w) window at a random offset out of the zero-padded
        # batch; written back in place, since the batch is what skorch trains on.
        padded = F.pad(x, (s, s, s, s))
        dy = torch.randint(0, 2 * s + 1, (n,), device=x.device)
        dx = torch.randint(0, 2 * s + 1, (n,), device=x.device)
        rows = (dy[:, None] + torch.arange(h, device=x.device))[:, None, :, None]
        cols = (dx[:, None] + torch.arange(w, device=x.device))[:, None, None, :]
        batch_idx = torch.arange(n, device=x.device)[:, None, None, None]
        chan_idx = torch.arange(x.shape[1], device=x.device)[None, :, None, None]
        x.copy_(padded[batch_idx, chan_idx, rows, cols])
