"""Torch utilities under everything else: modules, conversion, pools, validation."""

from ._modules import frozen_eval, module_device_dtype
from ._pool import check_batch_finite, iter_pool, pool_length, take_rows
from ._torch import TorchModel, resolve_torch_model, to_numpy, to_tensor, unwrap_learner

__all__ = [
    "TorchModel",
    "check_batch_finite",
    "frozen_eval",
    "iter_pool",
    "module_device_dtype",
    "pool_length",
    "resolve_torch_model",
    "take_rows",
    "to_numpy",
    "to_tensor",
    "unwrap_learner",
]
