"""Let large outputs reuse freed memory (glibc), as a GPU allocator's pool does.

XLA on the CPU allocates every output with malloc. glibc serves requests above its mmap
threshold (at most 32 MiB) with a fresh mmap and unmaps them on free, so each call that
returns a large array page-faults all of it anew: on the 2-core VM a 64 MiB float32 copy takes
~18 ms with the default allocator, most of it in the kernel, and ~5 ms once the memory is
reused. The benchmark measures the formulas, not the page-fault handler, so by default it
asks glibc to never mmap, never trim and use one arena: freed outputs are then reused by the
next call. `--default-allocator` measures without this.
"""

from __future__ import annotations

import ctypes
import platform
import sys

# mallopt parameters from glibc's malloc.h.
M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
M_ARENA_MAX = -8
INT_MAX = 2**31 - 1


def reuse_freed_memory() -> str:
    """Tune glibc's malloc for this process; return what was done ("" where not glibc).

    Call it before JAX starts its backend: the arena setting applies to threads that have not
    allocated yet.
    """
    if sys.platform != "linux" or platform.libc_ver()[0] != "glibc":
        return ""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return ""
    settings = ((M_ARENA_MAX, 1), (M_MMAP_MAX, 0), (M_TRIM_THRESHOLD, INT_MAX))
    if not all(libc.mallopt(option, value) == 1 for option, value in settings):
        return ""
    return "glibc malloc: one arena, no mmap, no trim (outputs reuse freed memory)"
