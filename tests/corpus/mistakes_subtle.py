"""Subtle mistakes: wrong only on inputs or in situations the first families never drew.

Cotangents with exact zeros, a 1-D row of large logits, float16/bfloat16, targets that do
not sum to 1, near-ties just off a kink, state kept between calls, and causes whose hint
must name them (an added epsilon, reshape for transpose, pure_callback). Each replaces
one or two functions of the correct one-file submission, like tests/corpus/mistakes.py.
"""

from __future__ import annotations

from tests.corpus.mistakes import Mistake, m

SUBTLE: tuple[Mistake, ...] = (
    # ---- cotangents with exact zeros ----------------------------------------------------
    m(
        "vjp-drops-zero-cotangents",
        "softmax_vjp",
        "skips the <g, s> term where g is 0 (a sparse-gradient shortcut)",
        """
      def softmax_vjp(x, g):
          s = softmax(x)
          return jnp.where(g != 0, s * (g - jnp.sum(g * s, axis=-1, keepdims=True)), jnp.zeros_like(s))
      """,
    ),
    m(
        "vjp-divides-by-g",
        "softmax_vjp",
        "s g (1 - <g, s>/g): 0/0 where g is 0",
        """
      def softmax_vjp(x, g):
          s = softmax(x)
          return s * g * (1 - jnp.sum(g * s, axis=-1, keepdims=True) / g)
      """,
    ),
    # ---- a 1-D row of large logits --------------------------------------------------------
    m(
        "softmax-shift-batched-only",
        "softmax",
        "subtracts the row max only when there is a batch axis",
        """
      def softmax(x):
          if x.ndim > 1:
              x = x - jnp.max(x, axis=-1, keepdims=True)
          e = jnp.exp(x)
          return e / jnp.sum(e, axis=-1, keepdims=True)
      """,
        hint="NaN/inf",
    ),
    m(
        "jacobian-shift-batched-only",
        "softmax_jacobian",
        "the same batched-only shift inside the Jacobian",
        """
      def softmax_jacobian(x):
          if x.ndim > 1:
              x = x - jnp.max(x, axis=-1, keepdims=True)
          e = jnp.exp(x)
          s = e / jnp.sum(e, axis=-1, keepdims=True)
          return s[..., :, None] * (jnp.eye(s.shape[-1], dtype=s.dtype) - s[..., None, :])
      """,
    ),
    m(
        "ce-grad-shift-batched-only",
        "cross_entropy_grad",
        "softmax without the shift for a single example",
        """
      def cross_entropy_grad(z, y):
          if z.ndim > 1:
              z = z - jnp.max(z, axis=-1, keepdims=True)
          e = jnp.exp(z)
          return e / jnp.sum(e, axis=-1, keepdims=True) * jnp.sum(y, axis=-1, keepdims=True) - y
      """,
    ),
    # ---- float16 and bfloat16 -------------------------------------------------------------
    m(
        "l2-grad-float32-for-half",
        "l2_grad",
        "computes in float32 for float16 input and returns float32",
        """
      def l2_grad(a, y):
          t = jnp.promote_types(a.dtype, jnp.float32)
          return 2 * (a.astype(t) - y.astype(t))
      """,
        hint="dtype",
    ),
    m(
        "softmax-float32-for-half",
        "softmax",
        "upcasts float16/bfloat16 to float32 and forgets to cast back",
        """
      def softmax(x):
          x = x.astype(jnp.promote_types(x.dtype, jnp.float32))
          e = jnp.exp(x - jnp.max(x, axis=-1, keepdims=True))
          return e / jnp.sum(e, axis=-1, keepdims=True)
      """,
        hint="dtype",
    ),
    m(
        "huber-grad-float32-n",
        "huber_grad",
        "divides by jnp.float32(n): float16 in, float32 out",
        """
      def huber_grad(a, y, delta=1.0):
          return jnp.clip(a - y, -delta, delta) / jnp.float32(a.shape[-1])
      """,
        hint="dtype",
    ),
    m(
        "net-forward-float32",
        "two_layer_forward",
        "casts x to float32 'to be safe'",
        """
      def two_layer_forward(params, x):
          x = jnp.asarray(x, jnp.float32)
          return sigmoid(sigmoid(x @ params["W1"] + params["b1"]) @ params["W2"] + params["b2"])
      """,
        # A float16 check fails on the dtype, a float64 one on float32 rounding: both hints say so.
        hint="float32",
    ),
    # ---- targets that do not sum to 1 -----------------------------------------------------
    m(
        "ce-grad-assumes-sum-one",
        "cross_entropy_grad",
        "softmax(z) - y: right only when sum(y) = 1",
        """
      def cross_entropy_grad(z, y):
          return softmax(z) - y
      """,
    ),
    m(
        "ce-assumes-sum-one",
        "cross_entropy",
        "logsumexp(z) - <y, z>: right only when sum(y) = 1",
        """
      def cross_entropy(z, y):
          return jax.nn.logsumexp(z, axis=-1) - jnp.sum(y * z, axis=-1)
      """,
    ),
    # ---- near-ties, off the kink ----------------------------------------------------------
    m(
        "l1-grad-epsilon",
        "l1_grad",
        "d / (|d| + 1e-12): a smoothed sign",
        """
      def l1_grad(a, y):
          d = a - y
          return d / (jnp.abs(d) + 1e-12)
      """,
        hint="epsilon",
    ),
    m(
        "l1-grad-tanh",
        "l1_grad",
        "tanh(1e6 d): a smooth sign that is not sign(d) within 1e-6 of the kink",
        """
      def l1_grad(a, y):
          return jnp.tanh(1e6 * (a - y))
      """,
    ),
    m(
        "huber-grad-epsilon-sign",
        "huber_grad",
        "r |r| / (|r| + 1e-8) for the clipped residual",
        """
      def huber_grad(a, y, delta=1.0):
          r = a - y
          q = jnp.minimum(jnp.abs(r), delta)
          return r / (jnp.abs(r) + 1e-8) * q / a.shape[-1]
      """,
        hint="epsilon",
    ),
    m(
        "hinge-grad-margin-slack",
        "hinge_grad",
        "margin < 1 - 1e-6: a slack at the kink that moves it",
        """
      def hinge_grad(a, y):
          margin = jnp.sum(y * a, axis=-1, keepdims=True)
          return jnp.where(margin < 1 - 1e-6, -y, jnp.zeros_like(y))
      """,
    ),
    # ---- state kept between calls --------------------------------------------------------
    m(
        "net-grads-read-forward-global",
        "two_layer_grads",
        "grads reuse the hidden activations two_layer_forward left in a global",
        """
      _HIDDEN = {}

      def two_layer_forward(params, x):
          a1 = sigmoid(x @ params["W1"] + params["b1"])
          _HIDDEN["a1"] = a1
          return sigmoid(a1 @ params["W2"] + params["b2"])

      _fresh_two_layer_grads = two_layer_grads

      def two_layer_grads(params, x, y):
          if "a1" not in _HIDDEN:
              return _fresh_two_layer_grads(params, x, y)
          a1 = _HIDDEN["a1"]
          a = sigmoid(a1 @ params["W2"] + params["b2"])
          d2 = 2 * (a - y) * a * (1 - a)
          d1 = (params["W2"] @ d2) * a1 * (1 - a1)
          return {"W1": jnp.outer(x, d1), "b1": d1, "W2": jnp.outer(a1, d2), "b2": d2}
      """,
        hint="state kept between calls",
    ),
    m(
        "tanh-grad-memo-by-shape",
        "tanh_grad",
        "remembers its answer per shape and dtype (eagerly): later inputs get an old answer",
        """
      _MEMO = {}

      def tanh_grad(x):
          key = (jnp.shape(x), jnp.result_type(x))
          if isinstance(x, jax.core.Tracer):
              return 1 - jnp.tanh(x) ** 2
          if key not in _MEMO:
              _MEMO[key] = 1 - jnp.tanh(x) ** 2
          return _MEMO[key]
      """,
        hint="state kept between calls",
    ),
    m(
        "sigmoid-grad-drifts",
        "sigmoid_grad",
        "a running 'momentum' kept in a global mixes earlier answers in",
        """
      _STATE = {"calls": 0}

      def sigmoid_grad(x):
          _STATE["calls"] += 1
          s = sigmoid(x)
          return s * (1 - s) * (1 + 1e-2 * (_STATE["calls"] > 3))
      """,
        hint="state kept between calls",
    ),
    m(
        "relu-grad-cache-under-jit",
        "relu_grad",
        "caches its answer per shape, also while jit traces it: a tracer escapes",
        """
      _CACHE = {}

      def relu_grad(x):
          key = (jnp.shape(x), jnp.result_type(x))
          if key not in _CACHE:
              _CACHE[key] = (x > 0).astype(x.dtype)
          return _CACHE[key]
      """,
        hint="state",
    ),
    # ---- causes a hint must name -------------------------------------------------------------
    m(
        "net-reshape-for-transpose",
        "two_layer_grads",
        "dW1 as outer(d1, x).reshape(d_in, h): reshape where a transpose was meant",
        """
      _right_two_layer_grads = two_layer_grads

      def two_layer_grads(params, x, y):
          g = dict(_right_two_layer_grads(params, x, y))
          g["W1"] = g["W1"].T.reshape(g["W1"].shape)
          return g
      """,
        hint="reshape",
    ),
    m(
        "relu-grad-pure-callback",
        "relu_grad",
        "numpy through jax.pure_callback without vmap_method",
        """
      def relu_grad(x):
          shape = jax.ShapeDtypeStruct(jnp.shape(x), jnp.result_type(x))
          return jax.pure_callback(lambda v: (np.asarray(v) > 0).astype(np.asarray(v).dtype), shape, x)
      """,
        hint="pure_callback",
    ),
    m(
        "cosine-grad-epsilon-norm",
        "cosine_similarity_grad",
        "|a| + 1e-8 in the denominators 'for safety'",
        """
      def cosine_similarity_grad(a, y):
          na = jnp.sqrt(jnp.sum(a * a, axis=-1, keepdims=True)) + 1e-8
          ny = jnp.sqrt(jnp.sum(y * y, axis=-1, keepdims=True)) + 1e-8
          cos = jnp.sum(a * y, axis=-1, keepdims=True) / (na * ny)
          return y / (na * ny) - cos * a / na**2
      """,
    ),
)
