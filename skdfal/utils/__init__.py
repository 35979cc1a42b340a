"""Torch utilities under everything else: modules, conversion, pools, validation."""

from ._modules import frozen_eval, module_device_dtype
from ._pool import check_batch_finite, iter_batches, iter_pool, pool_length, take_rows
from ._torch import TorchModel, resolve_torch_model, to_numpy, to_tensor, unwrap_learner
from ._validation import check_count, resolve_size

__all__ = [
    "TorchModel",
    "check_batch_finite",
    "check_count",
    "iter_batches",
    "frozen_eval",
    "iter_pool",
    "module_device_dtype",
    "pool_length",
    "resolve_size",
    "resolve_torch_model",
    "take_rows",
    "to_numpy",
    "to_tensor",
    "unwrap_learner",
]
