"""Correct but unusual implementations: textbook, library-forward and backward-stable forms.

Each replaces one function of the correct one-file submission (tests/corpus/mistakes.py)
and must keep its marks: it must pass every derivation and stability check in float32
and float64. They pin the conditioning term of the tolerance from below (docs/tolerances.md);
the mistake corpora pin it from above.
"""

from __future__ import annotations

from tests.corpus.mistakes import Mistake

Form = Mistake  # the same carrier: an id, the function it replaces, and the source


def f(id: str, function: str, about: str, source: str) -> Form:
    return Mistake(id, function, about, source)


CORRECT_FORMS: tuple[Form, ...] = (
    f(
        "ce-textbook-logsumexp",
        "cross_entropy",
        "logsumexp(z) * sum(y) - sum(y * z): no overflow, cancels at logits near -1e4",
        """
      def cross_entropy(z, y):
          return jax.nn.logsumexp(z, axis=-1) * jnp.sum(y, axis=-1) - jnp.sum(y * z, axis=-1)
      """,
    ),
    f(
        "softmax-scipy-style",
        "softmax",
        "methods instead of functions: x.max(), e.sum(), one division",
        """
      def softmax(x):
          e = jnp.exp(x - x.max(axis=-1, keepdims=True))
          return e / e.sum(axis=-1, keepdims=True)
      """,
    ),
    f(
        "softmax-jax-nn",
        "softmax",
        "the library forward jax.nn.softmax (a forward, not autodiff)",
        """
      def softmax(x):
          return jax.nn.softmax(x, axis=-1)
      """,
    ),
    f(
        "ce-grad-library-softmax",
        "cross_entropy_grad",
        "jax.nn.softmax(z) * y.sum() - y",
        """
      def cross_entropy_grad(z, y):
          return jax.nn.softmax(z, axis=-1) * y.sum(axis=-1, keepdims=True) - y
      """,
    ),
    f(
        "cosine-plain-norm",
        "cosine_similarity",
        "<a, y> / (norm(a) norm(y)) with jnp.linalg.norm, as optax writes it",
        """
      def cosine_similarity(a, y):
          return jnp.sum(a * y, axis=-1) / (jnp.linalg.norm(a, axis=-1) * jnp.linalg.norm(y, axis=-1))
      """,
    ),
    f(
        "cosine-grad-plain-norm",
        "cosine_similarity_grad",
        "y/(|a||y|) - cos a/|a|^2 with jnp.linalg.norm",
        """
      def cosine_similarity_grad(a, y):
          na = jnp.linalg.norm(a, axis=-1, keepdims=True)
          ny = jnp.linalg.norm(y, axis=-1, keepdims=True)
          cos = jnp.sum(a * y, axis=-1, keepdims=True) / (na * ny)
          return y / (na * ny) - cos * a / na**2
      """,
    ),
    f(
        "sigmoid-lax-logistic",
        "sigmoid",
        "jax.lax.logistic",
        """
      def sigmoid(x):
          return jax.lax.logistic(x)
      """,
    ),
    f(
        "sigmoid-tanh",
        "sigmoid",
        "0.5 (1 + tanh(x / 2))",
        """
      def sigmoid(x):
          return 0.5 * (1 + jnp.tanh(x / 2))
      """,
    ),
    f(
        "sigmoid-grad-textbook",
        "sigmoid_grad",
        "s (1 - s) with the library sigmoid",
        """
      def sigmoid_grad(x):
          s = jax.nn.sigmoid(x)
          return s * (1 - s)
      """,
    ),
    f(
        "tanh-grad-textbook",
        "tanh_grad",
        "1 - tanh(x)^2",
        """
      def tanh_grad(x):
          return 1 - jnp.tanh(x) ** 2
      """,
    ),
    f(
        "relu-where",
        "relu",
        "jnp.where(x > 0, x, 0)",
        """
      def relu(x):
          return jnp.where(x > 0, x, jnp.zeros_like(x))
      """,
    ),
    f(
        "relu-grad-heaviside",
        "relu_grad",
        "jnp.heaviside(x, 0)",
        """
      def relu_grad(x):
          return jnp.heaviside(x, jnp.zeros_like(x))
      """,
    ),
    f(
        "huber-clip",
        "huber",
        "through q = clip(r, -delta, delta): 0.5 q^2 + delta (|r| - |q|)",
        """
      def huber(a, y, delta=1.0):
          r = a - y
          q = jnp.clip(r, -delta, delta)
          return jnp.mean(0.5 * q * q + delta * (jnp.abs(r) - jnp.abs(q)), axis=-1)
      """,
    ),
    f(
        "huber-grad-where",
        "huber_grad",
        "two branches with jnp.where",
        """
      def huber_grad(a, y, delta=1.0):
          r = a - y
          return jnp.where(jnp.abs(r) <= delta, r, delta * jnp.sign(r)) / a.shape[-1]
      """,
    ),
    f(
        "l1-grad-nested-where",
        "l1_grad",
        "1, -1 or 0 by comparison",
        """
      def l1_grad(a, y):
          one = jnp.ones_like(a)
          return jnp.where(a > y, one, jnp.where(a < y, -one, 0 * one))
      """,
    ),
    f(
        "l2-grad-expanded",
        "l2_grad",
        "2a - 2y",
        """
      def l2_grad(a, y):
          return 2 * a - 2 * y
      """,
    ),
    f(
        "hinge-grad-ge",
        "hinge_grad",
        "0 where the margin >= 1, else -y",
        """
      def hinge_grad(a, y):
          margin = jnp.sum(y * a, axis=-1, keepdims=True)
          return jnp.where(margin >= 1, jnp.zeros_like(y), -y)
      """,
    ),
    f(
        "net-transposed-matmul-order",
        "two_layer_grads",
        "W.T @ v products, s'(z) from the submission's own sigmoid_grad",
        """
      def two_layer_grads(params, x, y):
          W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
          z1 = W1.T @ x + b1
          a1 = jax.nn.sigmoid(z1)
          z2 = W2.T @ a1 + b2
          d2 = 2 * (jax.nn.sigmoid(z2) - y) * sigmoid_grad(z2)
          d1 = (W2 @ d2) * sigmoid_grad(z1)
          return {"W1": x[:, None] * d1[None, :], "b1": d1, "W2": a1[:, None] * d2[None, :], "b2": d2}
      """,
    ),
    f(
        "net-forward-transposed",
        "two_layer_forward",
        "W.T @ x instead of x @ W",
        """
      def two_layer_forward(params, x):
          a1 = jax.nn.sigmoid(params["W1"].T @ x + params["b1"])
          return jax.nn.sigmoid(params["W2"].T @ a1 + params["b2"])
      """,
    ),
)
