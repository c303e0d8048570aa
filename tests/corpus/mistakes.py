"""Plausible wrong formulas, each as the source a student might write.

Each Mistake replaces one function of an otherwise correct, self-contained submission
(`correct_source()`: the shipped formulas pasted into one file, as a student would
hand them in), so the same text serves as an in-process namespace for the oracle tests
and as a submission file for the grader tests.
"""

from __future__ import annotations

import functools
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

HANDWRITTEN = Path(__file__).resolve().parents[2] / "handwritten"
MODULES = ("_util.py", "activations.py", "softmax.py", "losses.py", "network.py")


@functools.lru_cache(maxsize=1)
def correct_source() -> str:
    """The shipped formulas as one self-contained file: no import of handwritten."""
    parts = ["from __future__ import annotations\n\nimport jax\nimport jax.numpy as jnp\nimport numpy as np\n"]
    for name in MODULES:
        text = (HANDWRITTEN / name).read_text()
        text = re.sub(r"^from (__future__|handwritten)[^\n]*\n", "", text, flags=re.M)
        parts.append(f"# ---- {name} ----\n{text}")
    return "\n".join(parts)


@dataclass(frozen=True)
class Mistake:
    id: str
    function: str
    about: str
    source: str
    hint: str = ""
    """A word the grader's hint for it should contain ("" when no hint is promised)."""
    strict_only: bool = False
    """A valid subgradient at a kink that is not the convention: passes unless strict."""

    @property
    def module_text(self) -> str:
        return correct_source() + "\n\n# ---- the mistake ----\n" + textwrap.dedent(self.source).strip() + "\n"

    def namespace(self) -> dict[str, object]:
        ns: dict[str, object] = {}
        exec(compile(self.module_text, f"<mistake {self.id}>", "exec"), ns)
        return ns


def m(id: str, function: str, about: str, source: str, hint: str = "", strict_only: bool = False) -> Mistake:
    return Mistake(id, function, about, source, hint, strict_only)


MISTAKES: tuple[Mistake, ...] = (
    # ---- activations ------------------------------------------------------------------
    m(
        "sigmoid-overflow",
        "sigmoid",
        "e^x/(1+e^x) overflows for large x",
        """
      def sigmoid(x):
          e = jnp.exp(x)
          return e / (1 + e)
      """,
        hint="extreme",
    ),
    m(
        "sigmoid-grad-is-value",
        "sigmoid_grad",
        "returns s instead of s(1-s)",
        """
      def sigmoid_grad(x):
          return sigmoid(x)
      """,
        hint="returns sigmoid(x) itself",
    ),
    m(
        "sigmoid-grad-sign",
        "sigmoid_grad",
        "s(1+s)",
        """
      def sigmoid_grad(x):
          s = sigmoid(x)
          return s * (1 + s)
      """,
    ),
    m(
        "sigmoid-grad-naive",
        "sigmoid_grad",
        "e^{-x}/(1+e^{-x})^2 overflows to inf/inf",
        """
      def sigmoid_grad(x):
          e = jnp.exp(-x)
          return e / (1 + e) ** 2
      """,
        hint="extreme",
    ),
    m(
        "sigmoid-grad-float32-only",
        "sigmoid_grad",
        "casts to float32",
        """
      def sigmoid_grad(x):
          s = sigmoid(x).astype(jnp.float32)
          return s * (1 - s)
      """,
        hint="dtype",
    ),
    m(
        "tanh-naive",
        "tanh",
        "(e^x - e^-x)/(e^x + e^-x) cancels for small |x| (and gives inf/inf at the extremes)",
        """
      def tanh(x):
          return (jnp.exp(x) - jnp.exp(-x)) / (jnp.exp(x) + jnp.exp(-x))
      """,
        hint="near 0",
    ),
    m(
        "tanh-grad-no-square",
        "tanh_grad",
        "1 - tanh(x)",
        """
      def tanh_grad(x):
          return 1 - tanh(x)
      """,
    ),
    m(
        "tanh-grad-sign",
        "tanh_grad",
        "1 + tanh^2",
        """
      def tanh_grad(x):
          return 1 + tanh(x) ** 2
      """,
    ),
    m(
        "relu-grad-bool",
        "relu_grad",
        "returns a boolean array",
        """
      def relu_grad(x):
          return x > 0
      """,
        hint="dtype",
    ),
    m(
        "relu-grad-python-if",
        "relu_grad",
        "Python control flow on array values",
        """
      def relu_grad(x):
          if x > 0:
              return jnp.ones_like(x)
          return jnp.zeros_like(x)
      """,
        hint="jnp.where",
    ),
    m(
        "relu-grad-one-at-zero",
        "relu_grad",
        "relu'(0) = 1: valid, not the convention",
        """
      def relu_grad(x):
          return (x >= 0).astype(x.dtype)
      """,
        strict_only=True,
        hint="kink",
    ),
    m(
        "relu-grad-half-at-zero",
        "relu_grad",
        "relu'(0) = 0.5: valid, not the convention",
        """
      def relu_grad(x):
          return jnp.where(x == 0, 0.5, (x > 0)).astype(x.dtype)
      """,
        strict_only=True,
    ),
    # ---- softmax ----------------------------------------------------------------------
    m(
        "softmax-no-shift",
        "softmax",
        "exp without subtracting the max overflows",
        """
      def softmax(x):
          e = jnp.exp(x)
          return e / jnp.sum(e, axis=-1, keepdims=True)
      """,
        hint="extreme",
    ),
    m(
        "softmax-global-max",
        "softmax",
        "subtracts the max of the whole batch, not of each row",
        """
      def softmax(x):
          e = jnp.exp(x - jnp.max(x))
          return e / jnp.sum(e, axis=-1, keepdims=True)
      """,
    ),
    m(
        "softmax-wrong-axis",
        "softmax",
        "normalises over the first axis",
        """
      def softmax(x):
          e = jnp.exp(x - jnp.max(x, axis=0, keepdims=True))
          return e / jnp.sum(e, axis=0, keepdims=True)
      """,
        "wrong axis",
    ),
    m(
        "softmax-vjp-wrong-axis",
        "softmax_vjp",
        "takes the softmax and its sum over the first axis",
        """
      def softmax_vjp(x, g):
          s = jax.nn.softmax(x, axis=0)
          return s * (g - jnp.sum(g * s, axis=0, keepdims=True))
      """,
        "wrong axis",
    ),
    m(
        "ce-grad-wrong-axis",
        "cross_entropy_grad",
        "normalises the logits over the first axis",
        """
      def cross_entropy_grad(z, y):
          return jax.nn.softmax(z, axis=0) * jnp.sum(y, axis=0, keepdims=True) - y
      """,
        "wrong axis",
    ),
    m(
        "cosine-grad-wrong-axis",
        "cosine_similarity_grad",
        "takes the norms and the dot product over the first axis",
        """
      def cosine_similarity_grad(a, y):
          na = jnp.linalg.norm(a, axis=0, keepdims=True)
          ny = jnp.linalg.norm(y, axis=0, keepdims=True)
          cos = jnp.sum(a * y, axis=0, keepdims=True) / (na * ny)
          return y / (na * ny) - cos * a / na**2
      """,
        "wrong axis",
    ),
    m(
        "softmax-vjp-epsilon",
        "softmax_vjp",
        "adds 1e-7 to the softmax denominator 'for stability': right derivation, float64 accuracy lost",
        """
      def softmax_vjp(x, g):
          e = jnp.exp(x - jnp.max(x, axis=-1, keepdims=True))
          s = e / (jnp.sum(e, axis=-1, keepdims=True) + 1e-7)
          return s * (g - jnp.sum(g * s, axis=-1, keepdims=True))
      """,
        hint="close, but not within the tolerance",
    ),
    m(
        "softmax-jacobian-diagonal",
        "softmax_jacobian",
        "elementwise s(1-s) on the diagonal only",
        """
      def softmax_jacobian(x):
          s = softmax(x)
          return s[..., :, None] * jnp.eye(s.shape[-1], dtype=s.dtype) * (1 - s[..., None, :])
      """,
        hint="missing term",
    ),
    m(
        "softmax-jacobian-sign",
        "softmax_jacobian",
        "diag(s) + s s^T",
        """
      def softmax_jacobian(x):
          s = softmax(x)
          return s[..., :, None] * (jnp.eye(s.shape[-1], dtype=s.dtype) + s[..., None, :])
      """,
    ),
    m(
        "softmax-vjp-missing-term",
        "softmax_vjp",
        "s * g, forgetting <g, s>",
        """
      def softmax_vjp(x, g):
          return softmax(x) * g
      """,
    ),
    m(
        "softmax-vjp-unbatched",
        "softmax_vjp",
        "jnp.dot for <g, s> only works on one row",
        """
      def softmax_vjp(x, g):
          s = softmax(x)
          return s * (g - jnp.dot(g, s))
      """,
        hint="shape",
    ),
    # ---- losses -----------------------------------------------------------------------
    m(
        "ce-grad-missing-y",
        "cross_entropy_grad",
        "softmax(z), forgetting - y",
        """
      def cross_entropy_grad(z, y):
          return softmax(z)
      """,
        hint="target",
    ),
    m(
        "ce-grad-sign",
        "cross_entropy_grad",
        "y - p",
        """
      def cross_entropy_grad(z, y):
          return y - softmax(z)
      """,
        hint="sign",
    ),
    m(
        "ce-log-of-softmax",
        "cross_entropy",
        "log(softmax) is -inf once p underflows",
        """
      def cross_entropy(z, y):
          return -jnp.sum(y * jnp.log(softmax(z)), axis=-1)
      """,
        hint="extreme",
    ),
    m(
        "ce-sum-all",
        "cross_entropy",
        "sums over every axis: a scalar for a batch",
        """
      def cross_entropy(z, y):
          return -jnp.sum(y * jax.nn.log_softmax(z))
      """,
        hint="reduces",
    ),
    m(
        "l2-grad-abs",
        "l2_grad",
        "erratum 1: 2|a - y|",
        """
      def l2_grad(a, y):
          return 2 * jnp.abs(a - y)
      """,
        hint="sign",
    ),
    m(
        "l2-grad-no-2",
        "l2_grad",
        "a - y, forgetting the 2",
        """
      def l2_grad(a, y):
          return a - y
      """,
        hint="factor",
    ),
    m(
        "l2-mean",
        "l2",
        "mean instead of sum",
        """
      def l2(a, y):
          return jnp.mean((a - y) ** 2, axis=-1)
      """,
        hint="factor",
    ),
    m(
        "l1-grad-sign",
        "l1_grad",
        "sign(y - a)",
        """
      def l1_grad(a, y):
          return jnp.sign(y - a)
      """,
        hint="sign",
    ),
    m(
        "l1-grad-plus-one-at-tie",
        "l1_grad",
        "1 at a = y: valid, not the convention",
        """
      def l1_grad(a, y):
          return jnp.where(a >= y, 1.0, -1.0).astype(a.dtype)
      """,
        strict_only=True,
        hint="kink",
    ),
    m(
        "hinge-grad-always",
        "hinge_grad",
        "-y everywhere, ignoring the margin",
        """
      def hinge_grad(a, y):
          return -y
      """,
    ),
    m(
        "hinge-grad-sign",
        "hinge_grad",
        "+y where the margin is below 1",
        """
      def hinge_grad(a, y):
          m = jnp.sum(y * a, axis=-1, keepdims=True)
          return jnp.where(m < 1, y, 0.0).astype(a.dtype)
      """,
        hint="sign",
    ),
    m(
        "hinge-grad-at-margin",
        "hinge_grad",
        "-y at margin exactly 1: valid, not the convention",
        """
      def hinge_grad(a, y):
          m = jnp.sum(y * a, axis=-1, keepdims=True)
          return jnp.where(m <= 1, -y, 0.0).astype(a.dtype)
      """,
        strict_only=True,
        hint="kink",
    ),
    m(
        "huber-grad-no-n",
        "huber_grad",
        "forgets the 1/n of the mean",
        """
      def huber_grad(a, y, delta=1.0):
          return jnp.clip(a - y, -delta, delta)
      """,
        hint="factor",
    ),
    m(
        "huber-grad-no-delta",
        "huber_grad",
        "erratum 2: sign(a - y) without delta",
        """
      def huber_grad(a, y, delta=1.0):
          r = a - y
          return jnp.where(jnp.abs(r) <= delta, r, jnp.sign(r)) / a.shape[-1]
      """,
        hint="branch",
    ),
    m(
        "huber-grad-default-delta",
        "huber_grad",
        "the contract's default delta=1.0 written as 0.1: right whenever delta is given",
        """
      def huber_grad(a, y, delta=0.1):
          return jnp.clip(a - y, -delta, delta) / a.shape[-1]
      """,
    ),
    m(
        "huber-default-delta",
        "huber",
        "no default for delta: a call without it fails",
        """
      def huber(a, y, delta):
          r = jnp.abs(a - y)
          return jnp.mean(jnp.where(r <= delta, 0.5 * r**2, delta * (r - 0.5 * delta)), axis=-1)
      """,
    ),
    m(
        "huber-sum",
        "huber",
        "sum instead of mean",
        """
      def huber(a, y, delta=1.0):
          r = jnp.abs(a - y)
          return jnp.sum(jnp.where(r <= delta, 0.5 * r**2, delta * (r - 0.5 * delta)), axis=-1)
      """,
        hint="1/n",
    ),
    m(
        "huber-no-half-summed",
        "huber",
        "r^2 without its 1/2, summed: two factors at once (2n)",
        """
      def huber(a, y, delta=1.0):
          r = jnp.abs(a - y)
          return jnp.sum(jnp.where(r <= delta, r**2, 2 * delta * r - delta**2), axis=-1)
      """,
        hint="factor of 2n",
    ),
    m(
        "huber-grad-2r-no-n",
        "huber_grad",
        "2r (the gradient of r^2) and no 1/n: two factors at once (2n)",
        """
      def huber_grad(a, y, delta=1.0):
          return 2 * jnp.clip(a - y, -delta, delta)
      """,
        hint="factor of 2n",
    ),
    m(
        "cosine-grad-missing-term",
        "cosine_similarity_grad",
        "y/(|a||y|) only",
        """
      def cosine_similarity_grad(a, y):
          na = jnp.linalg.norm(a, axis=-1, keepdims=True)
          ny = jnp.linalg.norm(y, axis=-1, keepdims=True)
          return y / (na * ny)
      """,
    ),
    m(
        "cosine-grad-doubled",
        "cosine_similarity_grad",
        "erratum 6 carried through: 2 cos a/|a|^2",
        """
      def cosine_similarity_grad(a, y):
          na = jnp.linalg.norm(a, axis=-1, keepdims=True)
          ny = jnp.linalg.norm(y, axis=-1, keepdims=True)
          cos = jnp.sum(a * y, axis=-1, keepdims=True) / (na * ny)
          return y / (na * ny) - 2 * cos * a / na**2
      """,
    ),
    m(
        "cosine-unbatched-norm",
        "cosine_similarity",
        "one norm over the whole batch",
        """
      def cosine_similarity(a, y):
          return jnp.sum(a * y, axis=-1) / (jnp.linalg.norm(a) * jnp.linalg.norm(y))
      """,
    ),
    # ---- the network ------------------------------------------------------------------
    m(
        "net-transposed-dW1",
        "two_layer_grads",
        "dW1 as d1 x^T: transposed",
        """
      _correct_two_layer_grads = two_layer_grads

      def two_layer_grads(params, x, y):
          g = dict(_correct_two_layer_grads(params, x, y))
          g["W1"] = g["W1"].T
          return g
      """,
        hint="transposed",
    ),
    m(
        "net-missing-hidden-derivative",
        "two_layer_grads",
        "forgets s'(z1) at the hidden layer",
        """
      def two_layer_grads(params, x, y):
          W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
          a1 = sigmoid(x @ W1 + b1)
          a = sigmoid(a1 @ W2 + b2)
          d2 = 2 * (a - y) * a * (1 - a)
          d1 = W2 @ d2
          return {"W1": jnp.outer(x, d1), "b1": d1, "W2": jnp.outer(a1, d2), "b2": d2}
      """,
    ),
    m(
        "net-no-2",
        "two_layer_grads",
        "forgets the 2 of the squared error",
        """
      _correct_two_layer_grads = two_layer_grads

      def two_layer_grads(params, x, y):
          return {k: v / 2 for k, v in _correct_two_layer_grads(params, x, y).items()}
      """,
        hint="factor",
    ),
    m(
        "net-grads-step-in-place",
        "two_layer_grads",
        "right gradients, but it also takes an SGD step into the caller's params (params[k] -= ...)",
        """
      _correct_two_layer_grads = two_layer_grads

      def two_layer_grads(params, x, y):
          grads = _correct_two_layer_grads(params, x, y)
          for k, g in grads.items():
              params[k] -= 0.1 * g
          return grads
      """,
        hint="in place",
    ),
    m(
        "net-erratum-w1ji",
        "two_layer_grads",
        "erratum 3: w^1_ji where w^2_j1 belongs",
        """
      def two_layer_grads(params, x, y):
          W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
          a1 = sigmoid(x @ W1 + b1)
          a = sigmoid(a1 @ W2 + b2)
          d2 = 2 * (a - y) * a * (1 - a)
          d_in, h = W1.shape
          rows = jnp.arange(h)[None, :] % d_in
          cols = jnp.arange(d_in)[:, None] % h
          w = W1[rows, cols]  # w[i, j] = W1[j, i], wrapped where out of range
          dW1 = jnp.sum(d2) * w * (a1 * (1 - a1))[None, :] * x[:, None]
          return {"W1": dW1, "b1": (W2 @ d2) * a1 * (1 - a1), "W2": jnp.outer(a1, d2), "b2": d2}
      """,
    ),
    m(
        "net-loss-mean",
        "two_layer_loss",
        "mean over outputs instead of sum",
        """
      def two_layer_loss(params, x, y):
          return jnp.mean((two_layer_forward(params, x) - y) ** 2)
      """,
        hint="1/n",
    ),
    m(
        "net-forward-no-output-sigmoid",
        "two_layer_forward",
        "a linear output layer",
        """
      def two_layer_forward(params, x):
          return sigmoid(x @ params["W1"] + params["b1"]) @ params["W2"] + params["b2"]
      """,
    ),
)
