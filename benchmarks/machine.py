"""What the numbers were measured on: CPU model, cores, memory, software and devices."""

from __future__ import annotations

import os
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import jax
import numpy as np


def _cpuinfo_field(name: str) -> str | None:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == name and value.strip():
            return value.strip()
    return None


def cpu_model() -> str:
    return _cpuinfo_field("model name") or platform.processor() or platform.machine() or "unknown"


def cpu_flags() -> list[str]:
    """The vector extensions that matter to XLA's CPU code (avx2, avx512f, ...)."""
    flags = set((_cpuinfo_field("flags") or "").split())
    return sorted(f for f in flags if f.startswith(("avx", "fma", "sse4", "amx")))


def cores() -> int:
    """CPUs this process may run on (the affinity mask), which is what XLA's thread pool uses."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def memory_bytes() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def device_names() -> list[str]:
    """Every device JAX sees, CPU first, as "cpu:0 (cpu)", "gpu:0 (NVIDIA H100 ...)"."""
    found = list(jax.devices("cpu"))
    found += [d for d in jax.devices() if d not in found]
    return [f"{d.platform}:{d.id} ({d.device_kind})" for d in found]


def describe() -> dict[str, Any]:
    """The "machine" object of the JSON output."""
    memory = memory_bytes()
    import jaxlib

    return {
        "cpu": cpu_model(),
        "cores": cores(),
        "memory": memory,
        "memory_gib": None if memory is None else round(memory / 2**30, 1),
        "jax": jax.__version__,
        "jaxlib": jaxlib.__version__,
        "devices": device_names(),
        "default_backend": jax.default_backend(),
        "cpu_flags": cpu_flags(),
        "numpy": np.__version__,
        "python": sys.version.split()[0],
        "os": platform.platform(),
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
