"""What a ``RuntimeError`` from torch really says, so that callers name the real fault.

torch raises ``RuntimeError`` (or a subclass) for a shape that does not fit a
layer, for memory it cannot allocate and for tensors on two devices alike; a
message that blames the shape for the other two sends the user the wrong way.
"""

from __future__ import annotations

__all__ = ["is_device_mismatch", "is_out_of_memory"]


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` is an allocation failure (CUDA, MPS or CPU), not a fault of the input.

    Examples
    --------
    >>> is_out_of_memory(RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"))
    True
    >>> is_out_of_memory(RuntimeError("mat1 and mat2 shapes cannot be multiplied (1x4 and 9x2)"))
    False
    """
    import torch

    if isinstance(exc, (MemoryError, torch.cuda.OutOfMemoryError)):
        return True
    text = str(exc).lower()
    # CPU: "DefaultCPUAllocator: can't allocate memory"; CUDA/MPS: "... out of memory ...".
    return isinstance(exc, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text)


def is_device_mismatch(exc: BaseException) -> bool:
    """Whether ``exc`` says that tensors on different devices met (a model/input placement fault).

    Examples
    --------
    >>> is_device_mismatch(RuntimeError("Expected all tensors to be on the same device, but found "
    ...                                 "at least two devices, cuda:0 and cpu!"))
    True
    """
    text = str(exc)
    return isinstance(exc, RuntimeError) and (
        "same device" in text or "Expected all tensors to be on" in text
        or ("device" in text and "but got" in text and "tensor" in text.lower())
    )
