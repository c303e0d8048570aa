"""The static autodiff scan: the shipped formulas are clean; autodiff is found, in pairs."""

from __future__ import annotations

from pathlib import Path

import pytest

import handwritten
from handgrad.scan import scan_path, scan_source
from reference.catalog import NAMES

CLEAN = """
import jax.numpy as jnp

def _helper(x):
    return jnp.exp(-jnp.abs(x))

def sigmoid_grad(x):
    e = _helper(x)
    return e / (1 + e) ** 2
"""


def test_handwritten_package_has_no_autodiff_anywhere() -> None:
    findings = scan_path(Path(handwritten.__file__).parent, NAMES)
    # Its only finding is that it imports itself (handwritten._util): fine for the package,
    # forbidden for a submission.
    assert {f.kind for fs in findings.values() for f in fs} <= {"project"}
    assert all("handwritten" in f.what for fs in findings.values() for f in fs)


def test_clean_source_passes() -> None:
    assert scan_source(CLEAN, ["sigmoid_grad"]) == {"sigmoid_grad": []}


@pytest.mark.parametrize(
    "source",
    [
        "import jax\ndef sigmoid_grad(x):\n    return jax.grad(jax.nn.sigmoid)(x)",
        "from jax import grad as g\nimport jax\ndef sigmoid_grad(x):\n    return g(jax.nn.sigmoid)(x)",
        "import jax\n_d = jax.vmap(jax.grad(jax.nn.sigmoid))\ndef sigmoid_grad(x):\n    return _d(x)",
        "import jax\ndef _h(f):\n    return jax.jacfwd(f)\ndef sigmoid_grad(x):\n    return _h(jax.nn.sigmoid)(x)",
        "import jax\ndef sigmoid_grad(x):\n    return getattr(jax, 'gr' + 'ad')(jax.nn.sigmoid)(x)",
        "import importlib\ndef sigmoid_grad(x):\n    return importlib.import_module('jax').grad(f)(x)",
        "from jax._src import api\ndef sigmoid_grad(x):\n    return api.grad(f)(x)",
        "import torch\ndef sigmoid_grad(x):\n    return torch.autograd.functional.vjp(f, x)",
        "def sigmoid_grad(x):\n    return eval('jax.grad')(f)(x)",
        "import jax\nf = jax.custom_vjp(lambda x: x)\ndef sigmoid_grad(x):\n    return f(x)",
    ],
    ids=[
        "jax.grad",
        "renamed-import",
        "module-level",
        "helper",
        "getattr",
        "importlib",
        "private",
        "torch",
        "eval",
        "custom_vjp",
    ],
)
def test_autodiff_and_dynamic_access_are_found(source: str) -> None:
    assert scan_source(source, ["sigmoid_grad"])["sigmoid_grad"]


@pytest.mark.parametrize(
    ("source", "kind"),
    [
        ("import os\ndef relu_grad(x):\n    os._exit(0)", "system"),
        ("def relu_grad(x):\n    open('/etc/passwd').read()\n    return x", "system"),
        ("from handwritten import relu_grad as r\ndef relu_grad(x):\n    return r(x)", "project"),
        ("def relu_grad(x):\n    return ().__class__.__base__.__subclasses__()", "dynamic"),
    ],
    ids=["os", "open", "handwritten", "dunder"],
)
def test_system_project_and_dynamic_access_are_found_by_kind(source: str, kind: str) -> None:
    assert kind in {f.kind for f in scan_source(source, ["relu_grad"])["relu_grad"]}


def test_plain_numeric_code_with_math_and_functools_is_clean() -> None:
    source = "import math\nimport functools\nimport jax.numpy as jnp\n\n@functools.partial(jnp.vectorize)\n"
    source += "def relu_grad(x):\n    return jnp.where(x > 0, 1.0, 0.0) * math.pi / math.pi\n"
    assert scan_source(source, ["relu_grad"]) == {"relu_grad": []}


def test_taint_is_per_function() -> None:
    source = CLEAN + "\nimport jax\n\ndef relu_grad(x):\n    return jax.grad(lambda v: v)(x)\n"
    found = scan_source(source, ["sigmoid_grad", "relu_grad"])
    assert found["sigmoid_grad"] == [] and found["relu_grad"]
