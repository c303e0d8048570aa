"""More correct but unusual implementations: other algebra, other primitives, other loops.

Pairwise softmax that overflows to an exact 0, a transposed (symmetric) Jacobian, einsum and
jnp.vectorize, lax primitives, Python loops over a small static axis, logaddexp, log-space
sigmoid derivatives, float64 intermediates cast back, and the network with the matmuls in
the other order. Each replaces one function of the correct one-file submission
(tests/corpus/mistakes.py) and must keep its marks: every derivation and stability check
in float32 and float64.
"""

from __future__ import annotations

from tests.corpus.correct_forms import Form, f

CORRECT_FORMS_2: tuple[Form, ...] = (
    # ---- softmax and its derivatives ------------------------------------------------------
    f(
        "softmax-pairwise-differences",
        "softmax",
        "s_i = 1 / sum_j exp(x_j - x_i): overflows to inf, and 1/inf is the exact 0",
        """
      def softmax(x):
          return 1 / jnp.sum(jnp.exp(x[..., None, :] - x[..., :, None]), axis=-1)
      """,
    ),
    f(
        "softmax-reversed-cumsum",
        "softmax",
        "exp(x - max) normalised by a reversed cumulative sum (another reduction order)",
        """
      def softmax(x):
          e = jnp.exp(x - jnp.max(x, axis=-1, keepdims=True))
          return e / jnp.cumsum(e[..., ::-1], axis=-1)[..., -1:]
      """,
    ),
    f(
        "jacobian-transposed",
        "softmax_jacobian",
        "s_j (delta_ij - s_i): the transpose, equal because the Jacobian is symmetric",
        """
      def softmax_jacobian(x):
          s = softmax(x)
          eye = jnp.eye(s.shape[-1], dtype=s.dtype)
          return s[..., None, :] * (eye - s[..., :, None])
      """,
    ),
    f(
        "jacobian-einsum",
        "softmax_jacobian",
        "diag(s) - s s^T with jnp.einsum for both terms",
        """
      def softmax_jacobian(x):
          s = softmax(x)
          eye = jnp.eye(s.shape[-1], dtype=s.dtype)
          return jnp.einsum("...i,ij->...ij", s, eye) - jnp.einsum("...i,...j->...ij", s, s)
      """,
    ),
    f(
        "jacobian-vectorize-outer",
        "softmax_jacobian",
        "jnp.diag(s) - jnp.outer(s, s) for one row, jnp.vectorize over the batch",
        """
      def softmax_jacobian(x):
          one = lambda s: jnp.diag(s) - jnp.outer(s, s)
          return jnp.vectorize(one, signature="(n)->(n,n)")(softmax(x))
      """,
    ),
    f(
        "vjp-jacobian-matvec",
        "softmax_vjp",
        "J g instead of g J (the same: J is symmetric), through the full Jacobian",
        """
      def softmax_vjp(x, g):
          return jnp.einsum("...ij,...j->...i", softmax_jacobian(x), g)
      """,
    ),
    f(
        "vjp-float64-intermediates",
        "softmax_vjp",
        "computed in float64 and cast back to x's dtype",
        """
      def softmax_vjp(x, g):
          w = jnp.promote_types(x.dtype, jnp.float64)
          x64, g64 = x.astype(w), g.astype(w)
          e = jnp.exp(x64 - jnp.max(x64, axis=-1, keepdims=True))
          s = e / jnp.sum(e, axis=-1, keepdims=True)
          return (s * (g64 - jnp.sum(g64 * s, axis=-1, keepdims=True))).astype(x.dtype)
      """,
    ),
    # ---- cross-entropy --------------------------------------------------------------------
    f(
        "ce-logaddexp-loop",
        "cross_entropy",
        "logsumexp as a Python loop of jnp.logaddexp over the (static) classes",
        """
      def cross_entropy(z, y):
          lse = z[..., 0]
          for i in range(1, z.shape[-1]):
              lse = jnp.logaddexp(lse, z[..., i])
          return lse * jnp.sum(y, axis=-1) - jnp.sum(y * z, axis=-1)
      """,
    ),
    f(
        "ce-grad-exp-log-softmax",
        "cross_entropy_grad",
        "exp(jax.nn.log_softmax(z)) sum(y) - y",
        """
      def cross_entropy_grad(z, y):
          return jnp.exp(jax.nn.log_softmax(z, axis=-1)) * jnp.sum(y, axis=-1, keepdims=True) - y
      """,
    ),
    # ---- activations ----------------------------------------------------------------------
    f(
        "tanh-grad-sech-guarded",
        "tanh_grad",
        "1 / cosh(x)^2, with 4 e^{-2|x|} past |x| = 20 where cosh would overflow",
        """
      def tanh_grad(x):
          big = jnp.abs(x) > 20
          safe = jnp.where(big, jnp.zeros_like(x), x)
          return jnp.where(big, 4 * jnp.exp(-2 * jnp.abs(x)), 1 / jnp.cosh(safe) ** 2)
      """,
    ),
    f(
        "tanh-grad-exp-sum",
        "tanh_grad",
        "4 / (e^x + e^-x)^2: the denominator overflows to inf, 4/inf = 0 is the limit",
        """
      def tanh_grad(x):
          return 4 / (jnp.exp(x) + jnp.exp(-x)) ** 2
      """,
    ),
    f(
        "tanh-lax",
        "tanh",
        "jax.lax.tanh, the primitive",
        """
      def tanh(x):
          return jax.lax.tanh(x)
      """,
    ),
    f(
        "sigmoid-grad-log-space",
        "sigmoid_grad",
        "s(x) s(-x) = exp(-softplus(x) - softplus(-x)) with jnp.logaddexp",
        """
      def sigmoid_grad(x):
          return jnp.exp(-jnp.logaddexp(0, x) - jnp.logaddexp(0, -x))
      """,
    ),
    f(
        "sigmoid-grad-quarter-sech",
        "sigmoid_grad",
        "(1 - tanh(x/2)^2) / 4",
        """
      def sigmoid_grad(x):
          return (1 - jnp.tanh(x / 2) ** 2) / 4
      """,
    ),
    f(
        "sigmoid-two-branch-where",
        "sigmoid",
        "1/(1+e^-x) for x >= 0, e^x/(1+e^x) below, both branches evaluated by jnp.where",
        """
      def sigmoid(x):
          return jnp.where(x >= 0, 1 / (1 + jnp.exp(-x)), jnp.exp(x) / (1 + jnp.exp(x)))
      """,
    ),
    f(
        "relu-abs-average",
        "relu",
        "(x + |x|) / 2",
        """
      def relu(x):
          return (x + jnp.abs(x)) / 2
      """,
    ),
    f(
        "relu-lax-max",
        "relu",
        "jax.lax.max with a zero of x's dtype",
        """
      def relu(x):
          return jax.lax.max(x, jax.lax.full_like(x, 0))
      """,
    ),
    f(
        "relu-grad-sign-of-relu",
        "relu_grad",
        "sign(relu(x)): 1 above 0, 0 at and below",
        """
      def relu_grad(x):
          return jnp.sign(relu(x))
      """,
    ),
    # ---- regression losses ----------------------------------------------------------------
    f(
        "l2-vectorize-dot",
        "l2",
        "d.d for one row, jnp.vectorize over the batch",
        """
      def l2(a, y):
          return jnp.vectorize(lambda a, y: jnp.dot(a - y, a - y), signature="(n),(n)->()")(a, y)
      """,
    ),
    f(
        "l2-norm-squared",
        "l2",
        "jnp.linalg.norm(a - y)^2",
        """
      def l2(a, y):
          return jnp.linalg.norm(a - y, axis=-1) ** 2
      """,
    ),
    f(
        "l1-python-loop",
        "l1",
        "a Python loop over the (static) last axis",
        """
      def l1(a, y):
          total = jnp.abs(a[..., 0] - y[..., 0])
          for i in range(1, a.shape[-1]):
              total = total + jnp.abs(a[..., i] - y[..., i])
          return total
      """,
    ),
    f(
        "l1-norm-ord-1",
        "l1",
        "jnp.linalg.norm(a - y, ord=1)",
        """
      def l1(a, y):
          return jnp.linalg.norm(a - y, ord=1, axis=-1)
      """,
    ),
    f(
        "l1-grad-comparisons",
        "l1_grad",
        "(a > y) - (a < y) in x's dtype",
        """
      def l1_grad(a, y):
          return (a > y).astype(a.dtype) - (a < y).astype(a.dtype)
      """,
    ),
    f(
        "hinge-clip",
        "hinge",
        "clip(1 - <y, a>, 0, None)",
        """
      def hinge(a, y):
          return jnp.clip(1 - jnp.einsum("...i,...i->...", y, a), 0, None)
      """,
    ),
    f(
        "hinge-grad-heaviside",
        "hinge_grad",
        "-y heaviside(1 - <y, a>, 0)",
        """
      def hinge_grad(a, y):
          margin = jnp.sum(y * a, axis=-1, keepdims=True)
          return -y * jnp.heaviside(1 - margin, jnp.zeros_like(margin))
      """,
    ),
    f(
        "huber-grad-scaled-clip",
        "huber_grad",
        "delta clip(r / delta, -1, 1) / n",
        """
      def huber_grad(a, y, delta=1.0):
          return delta * jnp.clip((a - y) / delta, -1, 1) / a.shape[-1]
      """,
    ),
    f(
        "huber-two-branch-where",
        "huber",
        "the contract's two branches with jnp.where and jnp.mean",
        """
      def huber(a, y, delta=1.0):
          r = jnp.abs(a - y)
          return jnp.mean(jnp.where(r <= delta, 0.5 * r**2, delta * (r - delta / 2)), axis=-1)
      """,
    ),
    # ---- cosine similarity ----------------------------------------------------------------
    f(
        "cosine-normalise-first",
        "cosine_similarity",
        "a/|a| . y/|y|: normalised vectors first",
        """
      def cosine_similarity(a, y):
          a_hat = a / jnp.linalg.norm(a, axis=-1, keepdims=True)
          y_hat = y / jnp.linalg.norm(y, axis=-1, keepdims=True)
          return jnp.sum(a_hat * y_hat, axis=-1)
      """,
    ),
    f(
        "cosine-means",
        "cosine_similarity",
        "mean(a y) / sqrt(mean(a^2) mean(y^2)): the n cancels",
        """
      def cosine_similarity(a, y):
          return jnp.mean(a * y, axis=-1) / jnp.sqrt(jnp.mean(a * a, axis=-1) * jnp.mean(y * y, axis=-1))
      """,
    ),
    f(
        "cosine-grad-gram-schmidt",
        "cosine_similarity_grad",
        "(y - (<a, y> / <a, a>) a) / (|a| |y|): y minus its projection on a",
        """
      def cosine_similarity_grad(a, y):
          aa = jnp.sum(a * a, axis=-1, keepdims=True)
          proj = jnp.sum(a * y, axis=-1, keepdims=True) / aa
          return (y - proj * a) / (jnp.sqrt(aa) * jnp.linalg.norm(y, axis=-1, keepdims=True))
      """,
    ),
    f(
        "cosine-grad-quotient-rule",
        "cosine_similarity_grad",
        "the quotient rule, (|a|^2 y - <a, y> a) / (|a|^3 |y|): |a|^3 is the smallest intermediate",
        """
      def cosine_similarity_grad(a, y):
          na = jnp.linalg.norm(a, axis=-1, keepdims=True)
          ny = jnp.linalg.norm(y, axis=-1, keepdims=True)
          ay = jnp.sum(a * y, axis=-1, keepdims=True)
          return (na**2 * y - ay * a) / (na**3 * ny)
      """,
    ),
    f(
        "cosine-grad-contract-over-a-cube",
        "cosine_similarity_grad",
        "the contract's form with <a, y> a / (|a|^3 |y|) for its second term",
        """
      def cosine_similarity_grad(a, y):
          na = jnp.linalg.norm(a, axis=-1, keepdims=True)
          ny = jnp.linalg.norm(y, axis=-1, keepdims=True)
          ay = jnp.sum(a * y, axis=-1, keepdims=True)
          return y / (na * ny) - ay * a / (na**3 * ny)
      """,
    ),
    # ---- the network ----------------------------------------------------------------------
    f(
        "net-grads-row-vectors",
        "two_layer_grads",
        "row vectors and matmuls in the other order: dW1 = (d1^T x)^T, d1 = d2 W2^T",
        """
      def two_layer_grads(params, x, y):
          W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
          xr = x[None, :]
          a1 = sigmoid(xr @ W1 + b1)
          z2 = a1 @ W2 + b2
          d2 = 2 * (sigmoid(z2) - y) * sigmoid_grad(z2)
          d1 = (d2 @ W2.T) * sigmoid_grad(xr @ W1 + b1)
          return {"W1": (d1.T @ xr).T, "b1": d1[0], "W2": a1.T @ d2, "b2": d2[0]}
      """,
    ),
    f(
        "net-grads-dict-update",
        "two_layer_grads",
        "the gradients gathered with dict.update, in two calls (a red team's: the scan refused "
        "`.update` on any value, for an array's sake)",
        """
      def two_layer_grads(params, x, y):
          W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
          a1 = sigmoid(x @ W1 + b1)
          z2 = a1 @ W2 + b2
          d2 = 2 * (sigmoid(z2) - y) * sigmoid_grad(z2)
          d1 = (W2 @ d2) * sigmoid_grad(x @ W1 + b1)
          grads = {}
          grads.update({"W2": jnp.outer(a1, d2), "b2": d2})
          grads.update(W1=jnp.outer(x, d1), b1=d1)
          return grads
      """,
    ),
    f(
        "net-loss-dot",
        "two_layer_loss",
        "d . d with d = a - y",
        """
      def two_layer_loss(params, x, y):
          d = two_layer_forward(params, x) - y
          return d @ d
      """,
    ),
    f(
        "net-forward-lax-logistic-einsum",
        "two_layer_forward",
        "jax.lax.logistic and jnp.einsum",
        """
      def two_layer_forward(params, x):
          h = jax.lax.logistic(jnp.einsum("i,ij->j", x, params["W1"]) + params["b1"])
          return jax.lax.logistic(jnp.einsum("j,jk->k", h, params["W2"]) + params["b2"])
      """,
    ),
    f(
        "tanh-grad-own-tanh",
        "tanh_grad",
        "1 - t^2 with the file's own tanh (the shipped one): a red team found it failing float16 and bfloat16 "
        "by the seed while the shipped tanh there was 1.5 eps off, which 1 - t^2 amplifies by 2t^2 / (1 - t^2)",
        """
      def tanh_grad(x):
          return 1 - tanh(x) ** 2
      """,
    ),
    f(
        "sigmoid-grad-own-sigmoid",
        "sigmoid_grad",
        "s (1 - s) with the file's own sigmoid (the shipped one)",
        """
      def sigmoid_grad(x):
          s = sigmoid(x)
          return s * (1 - s)
      """,
    ),
)
