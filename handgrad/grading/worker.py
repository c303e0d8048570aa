"""The worker: imports one submission and evaluates its functions on request.

Started by the grader (handgrad/grading/pool.py), never by hand. Protocol messages
travel on two inherited file descriptors, not stdin/stdout, so whatever the
submission prints cannot corrupt them. Before the submission is imported the worker
caps its own resources, blocks the project's own packages (a submission must not
import the reference or the shipped solutions), and installs the run-time autodiff
hooks. Only raw arrays go back; the grader computes every reference and comparison.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import resource
import sys
import traceback
from pathlib import Path
from typing import Any

import handgrad  # configure_for_checking() below turns x64 on
from handgrad.evaluate import BadReturn, describe_exception, evaluate
from handgrad.grading.protocol import read_message, write_message

BLOCKED_PACKAGES = ("handwritten", "reference", "benchmarks", "tests", "conftest")
FATAL = ("RESOURCE_EXHAUSTED", "MemoryError", "Out of memory")


def drop_privileges(spec: str) -> None:
    """Become the unprivileged user for good (uid:gid), or fail loudly.

    The interpreter's own library may live where only root can go (/root/.pyenv). A
    directory opened before the switch stays readable through /proc/self/fd/N, so the
    import path (and every loaded package's __path__) is moved there for the entries
    the new user could not reach: `import unittest` or `import chex` keeps working.
    """
    uid, gid = (int(part) for part in spec.split(":"))
    fds = {p: os.open(p, os.O_RDONLY | os.O_DIRECTORY) for p in sys.path if p and os.path.isdir(p)}
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
    if os.getuid() != uid or os.geteuid() != uid or os.getgid() != gid:
        raise RuntimeError("could not drop privileges")
    moved = {p: f"/proc/self/fd/{fd}" for p, fd in fds.items() if not os.access(p, os.R_OK | os.X_OK)}

    def move(path: str) -> str:
        for old, new in moved.items():
            if path == old or path.startswith(old + os.sep):
                return new + path[len(old) :]
        return path

    sys.path[:] = [move(p) for p in sys.path]
    for module in list(sys.modules.values()):
        paths = getattr(module, "__path__", None)
        if isinstance(paths, list):
            paths[:] = [move(p) for p in paths]
    sys.path_importer_cache.clear()


def limit_resources(memory: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 << 20, 64 << 20))


class AutodiffFlag:
    """Set whenever JAX starts differentiating: at the trace level (JVPTrace,
    LinearizeTrace), which every jax autodiff entry point goes through, and at the
    public entry points themselves."""

    used = False


def install_autodiff_hooks(flag: type[AutodiffFlag]) -> None:
    import jax
    from jax._src.interpreters import ad

    for cls_name in ("JVPTrace", "LinearizeTrace"):
        cls = getattr(ad, cls_name, None)
        if cls is None:
            continue
        original = cls.__init__

        def init(self: Any, *args: Any, __original: Any = original, **kwargs: Any) -> None:
            flag.used = True
            __original(self, *args, **kwargs)

        cls.__init__ = init
    names = ("grad", "value_and_grad", "vjp", "jvp", "jacrev", "jacfwd", "jacobian", "hessian", "linearize",
             "linear_transpose", "closure_convert", "custom_vjp", "custom_jvp")  # fmt: skip
    for name in names:
        original = getattr(jax, name, None)
        if original is None:
            continue

        def wrapper(*args: Any, __original: Any = original, **kwargs: Any) -> Any:
            flag.used = True
            return __original(*args, **kwargs)

        setattr(jax, name, wrapper)


def block_project_packages() -> None:
    for name in BLOCKED_PACKAGES:
        for loaded in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
            del sys.modules[loaded]
        sys.modules[name] = None  # type: ignore[assignment]  # import now raises ModuleNotFoundError


def import_submission(path: Path) -> Any:
    if path.is_dir():
        spec = importlib.util.spec_from_file_location(
            "submission", path / "__init__.py", submodule_search_locations=[str(path)]
        )
    else:
        spec = importlib.util.spec_from_file_location("submission", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path.name}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["submission"] = module
    sys.path.insert(0, str(path.parent))
    spec.loader.exec_module(module)
    return module


def warm_up() -> None:
    """Start the backend and load every lazily imported part of JAX the evaluation uses
    (eager, jit, vmap, each device, sharding), before privileges are dropped."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    from handgrad.evaluate import SHARDED, available_devices

    x = np.ones((len(jax.devices()) * 2, 3), np.float32)
    for device in available_devices():
        for transform in ("eager", "jit", "vmap"):
            evaluate(jnp.sin, transform=transform, device=device, args=(x,), kwargs={}, vmap_axes=(0,))
    if SHARDED not in available_devices():
        jnp.zeros(1).block_until_ready()


def serve(module: Any, names: list[str], inp: Any, out: Any, flag: type[AutodiffFlag]) -> None:
    while True:
        try:
            request = read_message(inp)
        except EOFError:
            return
        name = str(request.get("name"))
        fn = getattr(module, name, None)
        if name not in names or not callable(fn):
            write_message(out, {"ok": False, "kind": "missing", "message": f"{name} is not defined"})
            continue
        flag.used = False
        try:
            result = evaluate(
                fn,
                transform=str(request["transform"]),
                device=str(request["device"]),
                args=tuple(request["args"]),
                kwargs=dict(request.get("kwargs") or {}),
                vmap_axes=tuple(request["vmap_axes"]),
            )
        except BadReturn as exc:
            reply = {"ok": False, "kind": "bad-return", "message": str(exc)}
        except BaseException as exc:  # SystemExit from a formula is the formula's failure too
            text = describe_exception(exc)
            reply = {"ok": False, "kind": "memory" if any(f in text for f in FATAL) else "exception", "message": text}
        else:
            reply = {"ok": True, "value": result.value, "devices": sorted(result.devices)}
        reply["autodiff"] = flag.used
        write_message(out, reply)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="handgrad-worker")
    parser.add_argument("--in", dest="inp", type=int, required=True)
    parser.add_argument("--out", type=int, required=True)
    parser.add_argument("--submission", type=Path, required=True)
    parser.add_argument("--memory", type=int, required=True)
    parser.add_argument("--names", required=True)
    parser.add_argument("--drop-to", default=None, help="uid:gid to become before importing the submission")
    args = parser.parse_args(argv)
    inp, out = os.fdopen(args.inp, "rb"), os.fdopen(args.out, "wb")
    sys.stdout = sys.stderr  # prints from the submission go to the log, like everything else

    handgrad.configure_for_checking()
    warm_up()
    limit_resources(args.memory)
    if args.drop_to:
        drop_privileges(args.drop_to)
    flag = AutodiffFlag
    install_autodiff_hooks(flag)
    block_project_packages()
    names = args.names.split(",")
    try:
        module = import_submission(args.submission)
    except BaseException as exc:  # SyntaxError, SystemExit, anything: reported, not raised
        write_message(out, {"ok": False, "kind": "import", "message": describe_exception(exc), "autodiff": flag.used})
        return
    defined = [n for n in names if callable(getattr(module, n, None))]
    write_message(out, {"ok": True, "defined": defined, "autodiff": flag.used})
    serve(module, defined, inp, out, flag)


if __name__ == "__main__":
    try:
        main()
    except Exception:
        traceback.print_exc()
        sys.exit(3)
