"""Every formula of the contract, derived and written by hand: no autodiff anywhere.

from handwritten import softmax_vjp

Every public formula is compiled with `jax.jit`: called eagerly it runs one compiled
program per input shape and dtype (instead of one dispatch per operation); inside a
caller's own `jit` or `vmap` it is inlined like any other function. Huber's `delta` is a
static argument: pass a Python number. Input checks (shapes, delta > 0) run while tracing
and raise the same ValueError as before.
"""

from handwritten.activations import relu as relu
from handwritten.activations import relu_grad as relu_grad
from handwritten.activations import sigmoid as sigmoid
from handwritten.activations import sigmoid_grad as sigmoid_grad
from handwritten.activations import tanh as tanh
from handwritten.activations import tanh_grad as tanh_grad
from handwritten.losses import cosine_similarity as cosine_similarity
from handwritten.losses import cosine_similarity_grad as cosine_similarity_grad
from handwritten.losses import cross_entropy as cross_entropy
from handwritten.losses import cross_entropy_grad as cross_entropy_grad
from handwritten.losses import hinge as hinge
from handwritten.losses import hinge_grad as hinge_grad
from handwritten.losses import huber as huber
from handwritten.losses import huber_grad as huber_grad
from handwritten.losses import l1 as l1
from handwritten.losses import l1_grad as l1_grad
from handwritten.losses import l2 as l2
from handwritten.losses import l2_grad as l2_grad
from handwritten.network import two_layer_forward as two_layer_forward
from handwritten.network import two_layer_grads as two_layer_grads
from handwritten.network import two_layer_loss as two_layer_loss
from handwritten.softmax import softmax as softmax
from handwritten.softmax import softmax_jacobian as softmax_jacobian
from handwritten.softmax import softmax_vjp as softmax_vjp
