"""Files for a course: a starter template, a one-file reference solution, the contract table.

- `template()`: every contract function with its signature and docstring and a body that
  raises NotImplementedError; graded, each function scores 0 with "not implemented yet".
- `solution()`: the shipped formulas of `handwritten/` pasted into one self-contained file
  that imports only jax.numpy, jax.lax, jax.jit, functools, math and typing (what a
  submission may import), for an instructor's reference run; graded, it gets full marks.
- `contract_table()`: the generated part of docs/contract.md (names, signatures, dtypes,
  kinks and the stability each function must have), straight from the catalog.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from pathlib import Path

from reference.catalog import CATALOG, Entry

HANDWRITTEN = Path(__file__).resolve().parents[1] / "handwritten"
MODULES: tuple[str, ...] = ("_util.py", "activations.py", "softmax.py", "losses.py", "network.py")

ALLOWED_IMPORTS = ("jax.numpy", "jax.lax", "jax.nn", "jax.jit", "functools", "math", "typing")
"""What the generated files import, and all they import."""

# How each import line of handwritten/ is carried into one file: the replacement header
# line ("" when the name is defined in the header instead). An import not listed here
# stops the generation with its name, rather than producing a file that breaks the rules.
_IMPORTS: dict[str, str] = {
    "from __future__ import annotations": "from __future__ import annotations",
    "import jax": "from jax import jit",
    "import jax.numpy as jnp": "import jax.numpy as jnp",
    "from jax import Array": "",
    "from jax import Array, lax": "from jax import lax",
    "from jax import lax": "from jax import lax",
    "from jax.typing import ArrayLike": "",
    "from functools import partial": "from functools import partial",
    "from collections.abc import Mapping": "from typing import Mapping",
    "from collections.abc import Callable": "from typing import Callable",
}
_HEADER_TYPES = "from typing import Any\n\nArray = Any\nArrayLike = Any\n"


class StarterError(Exception):
    """handwritten/ uses something the one-file solution cannot carry; the message says what."""


def _stability(entry: Entry) -> str:
    fams = [f for f in entry.families if f.tier == "stability"]
    if not fams:
        return "ordinary inputs only"
    return "; ".join(f"{f.name}" + (f" ({f.about})" if f.about else "") for f in fams)


def _docstring(entry: Entry) -> str:
    lines = [entry.summary or entry.name]
    if entry.kink is not None:
        lines.append(f"Kink: {entry.kink.rule}.")
    lines.append("Returns the dtype it is given (float16, bfloat16, float32, float64); no autodiff.")
    stable = [f.name for f in entry.families if f.tier == "stability"]
    if stable:
        lines.append(f"Must stay finite and accurate on the checks {', '.join(stable)} (docs/contract.md).")
    return "\n    ".join(lines)


def _def_line(entry: Entry) -> str:
    return f"def {entry.signature}:"


def template(entries: Sequence[Entry] = CATALOG) -> str:
    """A starter file: every signature and docstring, bodies raising NotImplementedError."""
    parts = [
        '"""My hand-written gradients: replace every `raise NotImplementedError` with a formula.\n\n'
        "Rules (docs/contract.md): jax.numpy only, no jax.grad/vjp/jvp or other autodiff; every function\n"
        "works eagerly, under jax.jit and under jax.vmap, and returns its input's dtype.\n"
        'Check your work with `handgrad grade THIS_FILE`.\n"""\n',
        "from __future__ import annotations\n",
        "import jax.numpy as jnp  # noqa: F401 (for your formulas)\n",
    ]
    for entry in entries:
        parts.append(
            f'\n{_def_line(entry)}\n    """{_docstring(entry)}\n    """\n'
            f'    raise NotImplementedError("{entry.name} is not implemented yet")\n'
        )
    return "\n".join(parts)


def _module_body(name: str) -> tuple[list[str], str]:
    """(import lines, the code without its imports and module docstring) of handwritten/<name>."""
    text = (HANDWRITTEN / name).read_text(encoding="utf-8")
    tree = ast.parse(text)
    lines = text.splitlines(keepends=True)
    drop: set[int] = set()
    imports: list[str] = []
    for node in tree.body:
        first, last = node.lineno, node.end_lineno or node.lineno
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            source = " ".join(ln.strip() for ln in lines[first - 1 : last])
            if not (isinstance(node, ast.ImportFrom) and (node.module or "").startswith("handwritten")):
                imports.append(source)
            drop.update(range(first, last + 1))
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and node is tree.body[0]:
            drop.update(range(first, last + 1))
    for sub in ast.walk(tree):
        if (
            isinstance(sub, ast.Attribute)
            and isinstance(sub.value, ast.Name)
            and sub.value.id == "jax"
            and sub.attr != "jit"
        ):
            raise StarterError(f"handwritten/{name}:{sub.lineno} uses jax.{sub.attr}; the solution may not import jax")
    body = "".join(ln for i, ln in enumerate(lines, start=1) if i not in drop)
    body = re.sub(r"\bjax\.jit\b", "jit", body)
    return imports, body.strip("\n") + "\n"


def solution() -> str:
    """handwritten/ as one self-contained file with only the allowed imports."""
    header: list[str] = []
    bodies: list[str] = []
    for name in MODULES:
        imports, body = _module_body(name)
        for line in imports:
            if line not in _IMPORTS:
                raise StarterError(f"handwritten/{name}: cannot carry `{line}` into the one-file solution")
            if _IMPORTS[line] and _IMPORTS[line] not in header:
                header.append(_IMPORTS[line])
        bodies.append(f"# ---- {name.removesuffix('.py').lstrip('_')} " + "-" * 60 + f"\n\n{body}")
    future = [h for h in header if h.startswith("from __future__")]
    rest = sorted(h for h in header if not h.startswith("from __future__"))
    doc = (
        '"""The contract\'s reference solution in one file, generated by `handgrad solution` from\n'
        'handwritten/: every formula derived by hand, no autodiff. `handgrad grade` gives it full marks."""\n'
    )
    return "\n".join([doc, *future, "", *rest, "", _HEADER_TYPES, *bodies])


def contract_table(entries: Sequence[Entry] = CATALOG) -> str:
    """The catalog as the Markdown table of docs/contract.md."""
    rows = [
        "| function | math | kink (valid values; convention) | stability it must have |",
        "|---|---|---|---|",
    ]
    for e in entries:
        kink = e.kink.rule if e.kink is not None else "-"
        cells = [f"`{e.signature}`", e.summary, kink, _stability(e)]
        rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    dtypes = sorted({d for e in entries for d in e.dtypes})
    rows += ["", f"Every function is checked in {', '.join(dtypes)}, and must return the dtype it is given."]
    return "\n".join(rows) + "\n"


def write(text: str, path: Path) -> None:
    """Write `text` to a new file at `path`; an existing file is never replaced, and a
    missing folder is an error (never created)."""
    if not path.parent.is_dir():
        raise FileNotFoundError(f"{path.parent}: no such directory (it is not created for you)")
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a directory; name the file to write, e.g. {path / 'my_grads.py'}")
    try:
        with path.open("x", encoding="utf-8") as f:
            f.write(text)
    except FileExistsError:
        raise FileExistsError(f"{path} exists; choose another path or remove it first") from None
    except OSError as exc:  # a read-only or special place (/proc, /sys): said plainly
        raise OSError(f"{path}: cannot be written ({exc.strerror or exc})") from None
