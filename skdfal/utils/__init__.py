"""Torch utilities under everything else: modules, conversion, pools, validation."""

from ._heads import LogitsOf, find_head, logits_of
from ._modules import check_device, frozen_eval, module_device_dtype
from ._pool import (
    check_batch_finite,
    concat_rows,
    iter_batches,
    iter_pool,
    pool_length,
    take_rows,
)
from ._torch import (
    TorchModel,
    head_space_model,
    resolve_torch_model,
    to_tensor,
    unwrap_learner,
)
from ._validation import check_count, resolve_size

__all__ = [
    "LogitsOf",
    "TorchModel",
    "find_head",
    "head_space_model",
    "logits_of",
    "check_batch_finite",
    "check_count",
    "check_device",
    "concat_rows",
    "iter_batches",
    "frozen_eval",
    "iter_pool",
    "module_device_dtype",
    "pool_length",
    "resolve_size",
    "resolve_torch_model",
    "take_rows",
    "to_tensor",
    "unwrap_learner",
]
