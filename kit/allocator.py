"""Large tensors from the heap while training: glibc's malloc gives every block over its mmap threshold (at most
32 MB) pages of its own and returns them to the system on free, so a training step that allocates such a tensor
again and again (the LSTM's logits over 10,000 words are 90 MB) has the kernel fault in and zero every page of it,
every step. Serving large blocks from the heap and keeping freed memory for the next step removes that work
without changing a single number (the same losses bit for bit). The PyTorch Performance Tuning Guide names the same
cause when it advises jemalloc or TCMalloc for CPU training (they "reuse memory as much as possible"); glibc's own
settings (mallopt) do it here with no library to preload.

`kit prepare` and `kit book` call `keep_freed_memory()` before they train a checkpoint (chapter 8's grid workers
follow their parent) and `give_back_freed_memory()` when the training is done; chapters do not, so their timings
measure PyTorch in a process as a learner starts it. $KIT_ALLOCATOR=system leaves glibc's defaults.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform
import sys

from kit.errors import KitError

ALLOCATOR_ENV_VAR = "KIT_ALLOCATOR"
_M_TRIM_THRESHOLD = -1   # mallopt parameters, from glibc's <malloc.h>
_M_MMAP_MAX = -4
_NEVER_TRIM = 2**31 - 1   # mallopt takes a C int: the largest (2 GB of free heap before any is returned)
REUSE = "glibc malloc: every block from the heap, freed memory kept for reuse"
SYSTEM = "the system's malloc settings"
_in_use = SYSTEM


class AllocatorSettingError(KitError, ValueError):
    """$KIT_ALLOCATOR holds a value the kit does not know."""


def keep_freed_memory() -> bool:
    """Make glibc serve every block from the heap and never hand freed heap memory back; True when applied.

    A no-op (False) off Linux/glibc or with $KIT_ALLOCATOR=system; an unknown value of that variable raises
    AllocatorSettingError naming both choices.
    """
    global _in_use
    choice = os.environ.get(ALLOCATOR_ENV_VAR, "reuse").strip().lower()
    if choice not in ("reuse", "system"):
        raise AllocatorSettingError(f"${ALLOCATOR_ENV_VAR}={os.environ[ALLOCATOR_ENV_VAR]!r}: use 'reuse' (the "
                                    f"default: large blocks from the heap, freed memory kept for reuse) or 'system' "
                                    f"(glibc's defaults)")
    if choice == "system" or not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return False
    libc = _libc()
    if libc.mallopt(_M_MMAP_MAX, 0) and libc.mallopt(_M_TRIM_THRESHOLD, _NEVER_TRIM):
        _in_use = REUSE
    return _in_use == REUSE


def give_back_freed_memory() -> None:
    """Hand the freed heap back to the system (glibc's malloc_trim) once training is over, so a process that
    goes on with other work (`kit book` runs the chapters in kernels of their own) does not hold its training
    peak; a no-op where keep_freed_memory() was not applied."""
    if _in_use == REUSE:
        _libc().malloc_trim(0)


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")


def in_use() -> str:
    """What this process's allocator does, in words (a checkpoint's manifest records it beside its train time)."""
    return _in_use
