"""More subtle mistakes, for the functions the first corpora cover least.

Unstable forms that are right on small inputs (an expanded square, sinh/cosh, an exponent
that overflows at moderate logits), shortcuts that are right only near a point (tanh x ~ x),
conventions mixed up (PyTorch's SmoothL1 for Huber, a one-hot-only hinge), a subgradient
that mixes two choices in one example, strong constants that change the dtype, batch and
output means, and clipping the inputs. Each replaces one function of the correct one-file
submission, like tests/corpus/mistakes.py; each must lose its marks in the grader.
"""

from __future__ import annotations

from tests.corpus.mistakes import Mistake, m

# Thresholds and branches a little off the kink or the formula's own range, and a form that
# cancels on a stretch of moderate inputs: wrong only on a narrow stretch, so they are caught
# by fixed inputs there, in every draw.
THRESHOLDS: tuple[Mistake, ...] = (
    # Wrong only at values no random draw lands on (the `landmarks` family, 2026-12-05).
    m(
        "sigmoid-grad-half-at-zero",
        "sigmoid_grad",
        "s'(0) taken as s(0) = 1/2 (a special case for x = 0): s'(0) = 1/4",
        """
      def sigmoid_grad(x):
          s = jax.nn.sigmoid(x)
          return jnp.where(x == 0, 0.5, s * (1 - s)).astype(x.dtype)
      """,
    ),
    m(
        "tanh-grad-zero-at-zero",
        "tanh_grad",
        "tanh'(0) set to 0 (read off tanh(0) = 0): tanh'(0) = 1",
        """
      def tanh_grad(x):
          t = jnp.tanh(x)
          return jnp.where(x == 0, 0.0, 1 - t * t).astype(x.dtype)
      """,
    ),
    m(
        "relu-grad-tiny-threshold",
        "relu_grad",
        "x > 1e-10 instead of x > 0: 0 where relu'(x) = 1, for 0 < x <= 1e-10",
        """
      def relu_grad(x):
          return (x > 1e-10).astype(x.dtype)
      """,
    ),
    m(
        "relu-grad-eps-threshold",
        "relu_grad",
        "x > 1e-8 instead of x > 0: 0 where relu'(x) = 1, for 0 < x <= 1e-8",
        """
      def relu_grad(x):
          return (x > 1e-8).astype(x.dtype)
      """,
        hint="right next to the kink",
    ),
    m(
        "l1-grad-tie-tolerance",
        "l1_grad",
        "0 where |a - y| <= 1e-10, taken as a tie: sign(a - y) is +-1 right next to one",
        """
      def l1_grad(a, y):
          d = a - y
          return jnp.where(jnp.abs(d) <= 1e-10, 0.0, jnp.sign(d)).astype(d.dtype)
      """,
        hint="right next to the kink",
    ),
    m(
        "hinge-grad-margin-tolerance",
        "hinge_grad",
        "margin < 1 - 1e-12: 0 for margins just below 1, where the gradient is -y",
        """
      def hinge_grad(a, y):
          margin = jnp.sum(y * a, axis=-1, keepdims=True)
          return jnp.where(margin < 1 - 1e-12, -y, jnp.zeros_like(y))
      """,
        hint="right next to the kink",
    ),
    # Slacks of a few units in the last place of the checked dtype (ulp-ties, 2026-12-06): the
    # float64-only near-ties draws held such an offset now and then, float32's never.
    m(
        "hinge-grad-margin-eps-slack",
        "hinge_grad",
        "margin < 1 - 4 eps of the dtype: 0 for margins a few units in the last place below 1",
        """
      def hinge_grad(a, y):
          margin = jnp.sum(y * a, axis=-1, keepdims=True)
          return jnp.where(margin < 1 - 4 * jnp.finfo(a.dtype).eps, -y, jnp.zeros_like(y))
      """,
        hint="right next to the kink",
    ),
    m(
        "hinge-grad-margin-rounded-to-bfloat16",
        "hinge_grad",
        "the margin rounded to bfloat16 before the test: margins within 2^-9 of 1 read as on the kink",
        """
      def hinge_grad(a, y):
          margin = jnp.sum(y * a, axis=-1, keepdims=True).astype(jnp.bfloat16)
          return jnp.where(margin < 1, -y, jnp.zeros_like(y))
      """,
    ),
    m(
        "l1-grad-relative-eps-tie",
        "l1_grad",
        "0 where |a - y| <= 2 eps max(|a|, |y|), taken as a tie: sign(a - y) is +-1 an ulp away from one",
        """
      def l1_grad(a, y):
          d = a - y
          tie = jnp.abs(d) <= 2 * jnp.finfo(d.dtype).eps * jnp.maximum(jnp.abs(a), jnp.abs(y))
          return jnp.where(tie, 0.0, jnp.sign(d)).astype(d.dtype)
      """,
        hint="right next to the kink",
    ),
    m(
        "l1-grad-isclose-eps-tie",
        "l1_grad",
        "jnp.isclose(a, y, rtol=8 eps, atol=0) taken as a tie: 0 a few units in the last place from one",
        """
      def l1_grad(a, y):
          d = a - y
          tie = jnp.isclose(a, y, rtol=8 * jnp.finfo(d.dtype).eps, atol=0.0)
          return jnp.where(tie, 0.0, jnp.sign(d)).astype(d.dtype)
      """,
    ),
    m(
        "sigmoid-grad-wrong-far-branch",
        "sigmoid_grad",
        "s(1 + s) below -9: wrong by 2 s^2, above the tolerance only from -9 to about -14",
        """
      def sigmoid_grad(x):
          s = jax.nn.sigmoid(x)
          return jnp.where(x < -9, s * (1 + s), s * (1 - s))
      """,
    ),
    m(
        "tanh-grad-truncated-tail",
        "tanh_grad",
        "0 past |x| > 10, as if tanh' had vanished: it is 8e-9 at 10, far above float64's floor",
        """
      def tanh_grad(x):
          t = jnp.tanh(x)
          return jnp.where(jnp.abs(x) > 10, 0.0, 1 - t * t).astype(t.dtype)
      """,
    ),
    # Within float64's former absolute floor of 1e-12 (4500 eps), far beyond its rounding: a
    # red team's clips and truncations in the tails kept their marks (2026-12-06).
    m(
        "sigmoid-clipped-at-30",
        "sigmoid",
        "the input clipped to [-30, 30] before exp: sigmoid(-50) = 9.4e-14 where it is 1.9e-22",
        """
      def sigmoid(x):
          return 1 / (1 + jnp.exp(-jnp.clip(x, -30, 30)))
      """,
    ),
    m(
        "sigmoid-grad-clipped-at-30",
        "sigmoid_grad",
        "s(1 - s) with s of the input clipped to [-30, 30]: 9.4e-14 far in the tails where s' is 1e-22",
        """
      def sigmoid_grad(x):
          s = 1 / (1 + jnp.exp(-jnp.clip(x, -30, 30)))
          return s * (1 - s)
      """,
    ),
    m(
        "tanh-grad-truncated-past-15",
        "tanh_grad",
        "0 past |x| > 15: tanh'(16) is 5.1e-14, 230 times float64's rounding of 1",
        """
      def tanh_grad(x):
          t = jnp.tanh(x)
          return jnp.where(jnp.abs(x) > 15, 0.0, 1 - t * t).astype(t.dtype)
      """,
    ),
    m(
        "sigmoid-grad-zero-past-30",
        "sigmoid_grad",
        "0 past |x| > 30, as if s' had vanished: it is 9.4e-14 at 30",
        """
      def sigmoid_grad(x):
          s = jax.nn.sigmoid(x)
          return jnp.where(jnp.abs(x) > 30, 0.0, s * (1 - s)).astype(s.dtype)
      """,
    ),
    m(
        "tanh-grad-4s-one-minus-s",
        "tanh_grad",
        "4 s(2x) (1 - s(2x)), from tanh x = 2 s(2x) - 1: right in exact arithmetic, but 1 - s cancels for "
        "2 < |x| < 4 in float16 and near 2.8 in bfloat16, up to 1.8 times the allowance (twice the textbook "
        "1 - tanh^2's error)",
        """
      def tanh_grad(x):
          s = jax.nn.sigmoid(2 * x)
          return 4 * s * (1 - s)
      """,
        hint="loses its digits in the tail",
    ),
    # PyTorch's F.normalize: x / max(|x|, 1e-12). The small-scales row of norms near 2e-12 fell
    # below the clamp only in some draws (a red team, 2026-12-07: full marks in 23 seeds of 30).
    m(
        "cosine-normalize-clamp-1e-12",
        "cosine_similarity",
        "each vector normalized as x / max(|x|, 1e-12): wrong for norms below 1e-12",
        """
      def cosine_similarity(pred, target):
          an = pred / jnp.maximum(jnp.linalg.norm(pred, axis=-1, keepdims=True), 1e-12)
          yn = target / jnp.maximum(jnp.linalg.norm(target, axis=-1, keepdims=True), 1e-12)
          return jnp.sum(an * yn, axis=-1)
      """,
    ),
    m(
        "cosine-grad-normalize-clamp-1e-12",
        "cosine_similarity_grad",
        "the gradient through normalized vectors, each as x / max(|x|, 1e-12)",
        """
      def cosine_similarity_grad(pred, target):
          na = jnp.maximum(jnp.linalg.norm(pred, axis=-1, keepdims=True), 1e-12)
          ny = jnp.maximum(jnp.linalg.norm(target, axis=-1, keepdims=True), 1e-12)
          ah, yh = pred / na, target / ny
          cos = jnp.sum(ah * yh, axis=-1, keepdims=True)
          return (yh - cos * ah) / na
      """,
    ),
    # Clamps below small-scales' 5e-13, to "avoid division by zero": right wherever a norm is
    # above them, wrong by orders of magnitude below. float64 holds such norms as ordinary
    # numbers (tiny-norms); only far-scales, reported and not counted, had them (a red team,
    # 2026-12-07: full marks in three seeds of three).
    m(
        "cosine-clamp-norms-1e-16",
        "cosine_similarity",
        "each norm as max(|x|, 1e-16): wrong for norms below 1e-16",
        """
      def cosine_similarity(pred, target):
          na = jnp.maximum(jnp.linalg.norm(pred, axis=-1), 1e-16)
          ny = jnp.maximum(jnp.linalg.norm(target, axis=-1), 1e-16)
          return jnp.sum(pred * target, axis=-1) / (na * ny)
      """,
    ),
    m(
        "cosine-grad-clamp-norms-1e-16",
        "cosine_similarity_grad",
        "y / (|a| |y|) - cos a / |a|^2 with each norm as max(|x|, 1e-16)",
        """
      def cosine_similarity_grad(pred, target):
          na = jnp.maximum(jnp.linalg.norm(pred, axis=-1, keepdims=True), 1e-16)
          ny = jnp.maximum(jnp.linalg.norm(target, axis=-1, keepdims=True), 1e-16)
          cos = jnp.sum(pred * target, axis=-1, keepdims=True) / (na * ny)
          return target / (na * ny) - cos * pred / (na * na)
      """,
    ),
    m(
        "cosine-grad-clamp-product-1e-20",
        "cosine_similarity_grad",
        "the product of the norms as max(|a| |y|, 1e-20)",
        """
      def cosine_similarity_grad(pred, target):
          na = jnp.linalg.norm(pred, axis=-1, keepdims=True)
          ny = jnp.linalg.norm(target, axis=-1, keepdims=True)
          d = jnp.maximum(na * ny, 1e-20)
          cos = jnp.sum(pred * target, axis=-1, keepdims=True) / d
          return target / d - cos * pred / (na * na)
      """,
    ),
)


SUBTLE_2: tuple[Mistake, ...] = (
    # ---- unstable forms, right on small inputs ------------------------------------------
    m(
        "l2-expanded-square",
        "l2",
        "sum(a^2) - 2 <a, y> + sum(y^2): cancels when a and y are large and close",
        """
      def l2(a, y):
          return jnp.sum(a * a, axis=-1) - 2 * jnp.sum(a * y, axis=-1) + jnp.sum(y * y, axis=-1)
      """,
    ),
    m(
        "tanh-sinh-over-cosh",
        "tanh",
        "sinh(x) / cosh(x): inf/inf past |x| ~ 89 in float32",
        """
      def tanh(x):
          return jnp.sinh(x) / jnp.cosh(x)
      """,
        hint="NaN/inf",
    ),
    m(
        "ce-lse-no-shift",
        "cross_entropy",
        "log(sum(exp(z))) sum(y) - <y, z>: exp overflows at logits past ~88 in float32",
        """
      def cross_entropy(z, y):
          lse = jnp.log(jnp.sum(jnp.exp(z), axis=-1))
          return lse * jnp.sum(y, axis=-1) - jnp.sum(y * z, axis=-1)
      """,
    ),
    m(
        "softmax-vjp-exp-minus-logsumexp",
        "softmax_vjp",
        "s*g - s*<s, g> with s = exp(x - logsumexp(x)): s sums to 1 only to eps*|logsumexp|,"
        " which no nearby x explains (two tied logits at 1e4)",
        """
      def softmax_vjp(x, g):
          s = jnp.exp(x - jax.nn.logsumexp(x, axis=-1, keepdims=True))
          return s * g - s * jnp.sum(s * g, axis=-1, keepdims=True)
      """,
    ),
    m(
        "softmax-exp-minus-logsumexp",
        "softmax",
        "exp(x - logsumexp(x)): logsumexp's rounding, eps*|logsumexp|, lands in every s_i",
        """
      def softmax(x):
          return jnp.exp(x - jax.nn.logsumexp(x, axis=-1, keepdims=True))
      """,
    ),
    m(
        "net-grads-a-one-minus-a",
        "two_layer_grads",
        "the textbook a (1 - a) for s'(z): 1 - a cancels once a hidden unit saturates",
        """
      def two_layer_grads(params, x, y):
          W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
          a1 = jax.nn.sigmoid(x @ W1 + b1)
          a = jax.nn.sigmoid(a1 @ W2 + b2)
          d2 = 2 * (a - y) * a * (1 - a)
          d1 = (W2 @ d2) * a1 * (1 - a1)
          return {"W1": jnp.outer(x, d1), "b1": d1, "W2": jnp.outer(a1, d2), "b2": d2}
      """,
    ),
    m(
        "net-grads-output-a-one-minus-a",
        "two_layer_grads",
        "a (1 - a) at the output layer only (the hidden layer's s' stable): 1 - a cancels once an output unit "
        "saturates; a red team's, kept its marks in 35 of 40 seeds before net-saturated-output",
        """
      def two_layer_grads(params, x, y):
          W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
          z1 = x @ W1 + b1
          a1 = sigmoid(z1)
          a = sigmoid(a1 @ W2 + b2)
          d2 = 2 * (a - y) * a * (1 - a)
          d1 = (W2 @ d2) * sigmoid_grad(z1)
          return {"W1": jnp.outer(x, d1), "b1": d1, "W2": jnp.outer(a1, d2), "b2": d2}
      """,
    ),
    m(
        "ce-grad-shift-by-target",
        "cross_entropy_grad",
        "softmax shifted by the target logit <y, z> instead of the max: overflows when another logit dominates",
        """
      def cross_entropy_grad(z, y):
          e = jnp.exp(z - jnp.sum(y * z, axis=-1, keepdims=True))
          return e / jnp.sum(e, axis=-1, keepdims=True) * jnp.sum(y, axis=-1, keepdims=True) - y
      """,
    ),
    m(
        "sigmoid-grad-keras-clip",
        "sigmoid_grad",
        "s (1 - s) with s clipped to [1e-7, 1 - 1e-7] 'to avoid log(0)': 1e-7 where the truth is 1e-40",
        """
      def sigmoid_grad(x):
          s = jnp.clip(sigmoid(x), 1e-7, 1 - 1e-7)
          return s * (1 - s)
      """,
    ),
    # ---- shortcuts right only near a point ----------------------------------------------
    m(
        "tanh-small-x-shortcut",
        "tanh",
        "tanh x ~ x for |x| < 1e-2: off by x^3/3, 3e-7 at the threshold",
        """
      def tanh(x):
          return jnp.where(jnp.abs(x) < 1e-2, x, jnp.tanh(x))
      """,
    ),
    m(
        "tanh-grad-small-x-shortcut",
        "tanh_grad",
        "1 - x^2 for |x| < 3e-2 (the first terms of sech^2): off by 2x^4/3",
        """
      def tanh_grad(x):
          return jnp.where(jnp.abs(x) < 3e-2, 1 - x * x, 1 - jnp.tanh(x) ** 2)
      """,
    ),
    # ---- conventions mixed up -----------------------------------------------------------
    m(
        "huber-is-smooth-l1",
        "huber",
        "PyTorch's SmoothL1 with beta = delta: huber / delta, the same only for delta = 1",
        """
      def huber(a, y, delta=1.0):
          r = jnp.abs(a - y)
          return jnp.mean(jnp.where(r < delta, 0.5 * r * r / delta, r - 0.5 * delta), axis=-1)
      """,
    ),
    m(
        "huber-linear-offset-delta",
        "huber",
        "linear branch delta |r| - delta / 2 (delta, not delta^2): continuous only for delta = 1",
        """
      def huber(a, y, delta=1.0):
          r = jnp.abs(a - y)
          return jnp.mean(jnp.where(r <= delta, 0.5 * r * r, delta * r - 0.5 * delta), axis=-1)
      """,
    ),
    m(
        "huber-grad-delta-squared",
        "huber_grad",
        "delta^2 sign(r) / n in the linear branch",
        """
      def huber_grad(a, y, delta=1.0):
          r = a - y
          return jnp.where(jnp.abs(r) <= delta, r, delta * delta * jnp.sign(r)) / a.shape[-1]
      """,
    ),
    m(
        "hinge-onehot-only",
        "hinge",
        "max(0, 1 - a[argmax y]): the true-class score, right only for one-hot targets",
        """
      def hinge(a, y):
          score = jnp.take_along_axis(a, jnp.argmax(y, axis=-1)[..., None], axis=-1)[..., 0]
          return jnp.maximum(0, 1 - score)
      """,
    ),
    m(
        "hinge-per-element",
        "hinge",
        "sum_i max(0, 1 - y_i a_i): a per-element hinge, not the contract's per-example one",
        """
      def hinge(a, y):
          return jnp.sum(jnp.maximum(0, 1 - y * a), axis=-1)
      """,
    ),
    m(
        "hinge-grad-mixed-subgradient",
        "hinge_grad",
        "at margin exactly 1, -y only where y < 0: two different t in one example",
        """
      def hinge_grad(a, y):
          margin = jnp.sum(y * a, axis=-1, keepdims=True)
          active = (margin < 1) | ((margin == 1) & (y < 0))
          return jnp.where(active, -y, jnp.zeros_like(y))
      """,
    ),
    m(
        "cosine-grad-over-norm-y",
        "cosine_similarity_grad",
        "(y_hat - cos a_hat) / |y|: divides by the wrong norm",
        """
      def cosine_similarity_grad(a, y):
          na = jnp.linalg.norm(a, axis=-1, keepdims=True)
          ny = jnp.linalg.norm(y, axis=-1, keepdims=True)
          cos = jnp.sum(a * y, axis=-1, keepdims=True) / (na * ny)
          return (y / ny - cos * a / na) / ny
      """,
    ),
    m(
        "cosine-squared-norms",
        "cosine_similarity",
        "<a, y> / (|a|^2 |y|^2)^(1/2) written as <a, y> / sqrt(|a|^2) / |y|^2",
        """
      def cosine_similarity(a, y):
          return jnp.sum(a * y, axis=-1) / jnp.sqrt(jnp.sum(a * a, axis=-1)) / jnp.sum(y * y, axis=-1)
      """,
    ),
    # ---- dtypes -------------------------------------------------------------------------
    m(
        "relu-grad-bool-times-float",
        "relu_grad",
        "(x > 0) * 1.0: a boolean times a Python float is the default float, not x's dtype",
        """
      def relu_grad(x):
          return (x > 0) * 1.0
      """,
        hint="dtype",
    ),
    m(
        "tanh-module-constant",
        "tanh",
        "a module-level np.float64(2.0): a numpy scalar is strongly typed and promotes float32 to float64",
        """
      TWO = np.float64(2.0)

      def tanh(x):
          m = jnp.expm1(-TWO * jnp.abs(x))
          return jnp.sign(x) * (-m) / (TWO + m)
      """,
        hint="dtype",
    ),
    m(
        "jacobian-eye-default-dtype",
        "softmax_jacobian",
        "jnp.eye(n) without a dtype: float64 (float32 without x64) whatever x is",
        """
      def softmax_jacobian(x):
          s = softmax(x)
          return s[..., :, None] * (jnp.eye(s.shape[-1]) - s[..., None, :])
      """,
        hint="made without dtype= (jnp.eye(n)",
    ),
    m(
        "net-grads-half-internal",
        "two_layer_grads",
        "backpropagates in float16 'to save memory' and casts the result back",
        """
      _right_grads = two_layer_grads

      def two_layer_grads(params, x, y):
          dt = jnp.result_type(x)
          half = {k: jnp.asarray(v, jnp.float16) for k, v in params.items()}
          g = _right_grads(half, jnp.asarray(x, jnp.float16), jnp.asarray(y, jnp.float16))
          return {k: v.astype(dt) for k, v in g.items()}
      """,
    ),
    # ---- means and sums -----------------------------------------------------------------
    m(
        "net-grads-mean-over-outputs",
        "two_layer_grads",
        "d2 = 2 (a - y) s'(z2) / d_out: the gradient of the mean, right only for one output",
        """
      def two_layer_grads(params, x, y):
          W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
          a1 = sigmoid(x @ W1 + b1)
          z2 = a1 @ W2 + b2
          d2 = 2 * (sigmoid(z2) - y) * sigmoid_grad(z2) / z2.shape[0]
          d1 = (W2 @ d2) * a1 * (1 - a1)
          return {"W1": jnp.outer(x, d1), "b1": d1, "W2": jnp.outer(a1, d2), "b2": d2}
      """,
    ),
    m(
        "ce-grad-batch-mean",
        "cross_entropy_grad",
        "divides by the number of examples (the gradient of the batch mean, not of each loss)",
        """
      def cross_entropy_grad(z, y):
          batch = max(1, z.size // z.shape[-1])
          return (softmax(z) * jnp.sum(y, axis=-1, keepdims=True) - y) / batch
      """,
    ),
    m(
        "l1-sqrt-square",
        "l1",
        "sum sqrt((a - y)^2): the square overflows float16 at |a - y| > 256",
        """
      def l1(a, y):
          d = a - y
          return jnp.sum(jnp.sqrt(d * d), axis=-1)
      """,
    ),
    # ---- clipping and guards that change the answer --------------------------------------
    m(
        "softmax-clip-logits",
        "softmax",
        "clips the logits to [-50, 50] 'against overflow': wrong wherever a row spans more",
        """
      def softmax(x):
          x = jnp.clip(x, -50, 50)
          e = jnp.exp(x - jnp.max(x, axis=-1, keepdims=True))
          return e / jnp.sum(e, axis=-1, keepdims=True)
      """,
    ),
    m(
        "relu-grad-ratio",
        "relu_grad",
        "relu(x) / x: 0/0 at the kink",
        """
      def relu_grad(x):
          return relu(x) / x
      """,
    ),
    m(
        "l1-grad-isclose-tie",
        "l1_grad",
        "0 where jnp.isclose(a, y): a tie detected with a tolerance moves the kink",
        """
      def l1_grad(a, y):
          return jnp.where(jnp.isclose(a, y), jnp.zeros_like(a), jnp.sign(a - y))
      """,
    ),
    # ---- further cases of the classes the new families cover ------------------------------
    m(
        "huber-expanded-square",
        "huber",
        "quadratic branch 0.5 (a^2 - 2ay + y^2): cancels when a and y are large and close",
        """
      def huber(a, y, delta=1.0):
          r = jnp.abs(a - y)
          quadratic = 0.5 * (a * a - 2 * a * y + y * y)
          return jnp.mean(jnp.where(r <= delta, quadratic, delta * (r - 0.5 * delta)), axis=-1)
      """,
    ),
    m(
        "sigmoid-small-x-linear",
        "sigmoid",
        "1/2 + x/4 for |x| < 1e-2 (the tangent at 0): off by x^3/48",
        """
      def sigmoid(x):
          return jnp.where(jnp.abs(x) < 1e-2, 0.5 + x / 4, jax.nn.sigmoid(x))
      """,
    ),
    m(
        "cosine-eps-clamp-product",
        "cosine_similarity",
        "<a, y> / max(|a| |y|, 1e-8), an older PyTorch's guard: wrong for small vectors",
        """
      def cosine_similarity(a, y):
          na = jnp.linalg.norm(a, axis=-1)
          ny = jnp.linalg.norm(y, axis=-1)
          return jnp.sum(a * y, axis=-1) / jnp.maximum(na * ny, 1e-8)
      """,
    ),
    m(
        "cosine-grad-eps-clamp-norms",
        "cosine_similarity_grad",
        "each norm clamped to at least 1e-8, as PyTorch's cosine_similarity does",
        """
      def cosine_similarity_grad(a, y):
          na = jnp.maximum(jnp.linalg.norm(a, axis=-1, keepdims=True), 1e-8)
          ny = jnp.maximum(jnp.linalg.norm(y, axis=-1, keepdims=True), 1e-8)
          cos = jnp.sum(a * y, axis=-1, keepdims=True) / (na * ny)
          return y / (na * ny) - cos * a / na**2
      """,
    ),
    # ---- more functions the first corpora cover least -------------------------------------
    m(
        "net-forward-exp-ratio-sigmoid",
        "two_layer_forward",
        "its own sigmoid e^z / (1 + e^z): inf/inf once a unit saturates",
        """
      def two_layer_forward(params, x):
          s = lambda z: jnp.exp(z) / (1 + jnp.exp(z))
          return s(s(x @ params["W1"] + params["b1"]) @ params["W2"] + params["b2"])
      """,
    ),
    m(
        "net-loss-column-target",
        "two_layer_loss",
        "(a - y[:, None])^2 summed: every pair (a_k - y_j)^2, right only for one output",
        """
      def two_layer_loss(params, x, y):
          return jnp.sum((two_layer_forward(params, x) - y[:, None]) ** 2)
      """,
    ),
    m(
        "vjp-sum-dtype-float32",
        "softmax_vjp",
        "<g, s> accumulated with dtype=jnp.float32 'for accuracy': float64 loses digits, float16 changes dtype",
        """
      def softmax_vjp(x, g):
          s = softmax(x)
          return s * (g - jnp.sum(g * s, axis=-1, keepdims=True, dtype=jnp.float32))
      """,
    ),
    m(
        "ce-keras-clip-probs",
        "cross_entropy",
        "-sum y log(clip(softmax(z), 1e-7, 1 - 1e-7)), Keras's guard against log(0)",
        """
      def cross_entropy(z, y):
          p = jnp.clip(softmax(z), 1e-7, 1 - 1e-7)
          return -jnp.sum(y * jnp.log(p), axis=-1)
      """,
    ),
    m(
        "huber-grad-lower-branch-sign",
        "huber_grad",
        "+delta on both linear branches: a sign error below -delta only",
        """
      def huber_grad(a, y, delta=1.0):
          r = a - y
          return jnp.where(r > delta, delta, jnp.where(r < -delta, delta, r)) / a.shape[-1]
      """,
    ),
    m(
        "relu-clip-cap",
        "relu",
        "clip(x, 0, 1e3): a cap 'against exploding activations'",
        """
      def relu(x):
          return jnp.clip(x, 0, 1e3)
      """,
    ),
    m(
        "net-grads-sigmoid-grad-of-activation",
        "two_layer_grads",
        "s'(a) where s'(z) belongs: the derivative applied to the activation instead of the pre-activation",
        """
      def two_layer_grads(params, x, y):
          W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
          a1 = sigmoid(x @ W1 + b1)
          a = sigmoid(a1 @ W2 + b2)
          d2 = 2 * (a - y) * sigmoid_grad(a)
          d1 = (W2 @ d2) * sigmoid_grad(a1)
          return {"W1": jnp.outer(x, d1), "b1": d1, "W2": jnp.outer(a1, d2), "b2": d2}
      """,
    ),
    m(
        "cosine-grad-wrt-target",
        "cosine_similarity_grad",
        "a/(|a||y|) - cos y/|y|^2: the gradient with respect to the target (zero on parallel rows too)",
        """
      def cosine_similarity_grad(a, y):
          na = jnp.linalg.norm(a, axis=-1, keepdims=True)
          ny = jnp.linalg.norm(y, axis=-1, keepdims=True)
          cos = jnp.sum(a * y, axis=-1, keepdims=True) / (na * ny)
          return a / (na * ny) - cos * y / ny**2
      """,
    ),
    m(
        "sigmoid-grad-s-squared-exp",
        "sigmoid_grad",
        "s^2 e^{-x}: 0 * inf = NaN once s underflows and e^{-x} overflows",
        """
      def sigmoid_grad(x):
          s = sigmoid(x)
          return s * s * jnp.exp(-x)
      """,
        hint="NaN/inf",
    ),
    # A batch of one row: .squeeze() with no axis drops the batch axis too (seen only at (1, n)).
    m(
        "cosine-squeeze-all-axes",
        "cosine_similarity",
        ".squeeze() instead of .squeeze(-1): a batch of one row returns a scalar",
        """
      def cosine_similarity(a, y):
          num = jnp.sum(a * y, axis=-1, keepdims=True)
          den = jnp.linalg.norm(a, axis=-1, keepdims=True) * jnp.linalg.norm(y, axis=-1, keepdims=True)
          return (num / den).squeeze()
      """,
        hint="reduces too much",
    ),
    m(
        "cross-entropy-squeeze-all-axes",
        "cross_entropy",
        "keepdims then .squeeze(): the batch axis of a one-row batch goes too",
        """
      def cross_entropy(z, y):
          m = jnp.max(z, axis=-1, keepdims=True)
          lse = m + jnp.log(jnp.sum(jnp.exp(z - m), axis=-1, keepdims=True))
          return jnp.sum(y * (lse - z), axis=-1, keepdims=True).squeeze()
      """,
        hint="reduces too much",
    ),
    m(
        "huber-squeeze-all-axes",
        "huber",
        "np.squeeze-style cleanup of a kept axis drops a batch of one",
        """
      def huber(a, y, delta=1.0):
          r = jnp.abs(a - y)
          per = jnp.where(r <= delta, 0.5 * r**2, delta * (r - 0.5 * delta))
          return jnp.squeeze(jnp.mean(per, axis=-1, keepdims=True))
      """,
        hint="reduces too much",
    ),
    # Forms that cancel near 0, where tanh x ~ x: off by far more than rounding of x explains.
    m(
        "tanh-via-sigmoid",
        "tanh",
        "2 sigmoid(2x) - 1: 1/(1+e^{-2x}) rounds near 1/2, and subtracting leaves its rounding",
        """
      def tanh(x):
          return 2 / (1 + jnp.exp(-2 * x)) - 1
      """,
        hint="near 0",
    ),
    m(
        "tanh-one-minus-two-over",
        "tanh",
        "1 - 2/(e^{2x} + 1): exact at the extremes, but cancels for small |x|",
        """
      def tanh(x):
          return 1 - 2 / (jnp.exp(2 * x) + 1)
      """,
        hint="near 0",
    ),
    *THRESHOLDS,
)
