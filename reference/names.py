"""The contract's function names in catalog order, importable without JAX.

The command line validates `--function` with these before anything heavy loads, so a
usage error answers at once. tests/test_cli.py keeps this tuple equal to the catalog's.
"""

NAMES: tuple[str, ...] = (
    "sigmoid", "sigmoid_grad", "tanh", "tanh_grad", "relu", "relu_grad",
    "softmax", "softmax_jacobian", "softmax_vjp",
    "cross_entropy", "cross_entropy_grad", "l2", "l2_grad", "l1", "l1_grad",
    "hinge", "hinge_grad", "huber", "huber_grad", "cosine_similarity", "cosine_similarity_grad",
    "two_layer_forward", "two_layer_loss", "two_layer_grads",
)  # fmt: skip

KEYWORDS: dict[str, tuple[str, int, str]] = {
    "huber": ("delta", 2, "1.0"),
    "huber_grad": ("delta", 2, "1.0"),
}
"""The contract's keyword parameters: name -> (parameter, its position, its default). A caller
may pass delta either way, huber(a, y, 0.5) or huber(a, y, delta=0.5), so a submission's
parameter must take both (handgrad/interface.py checks its source). tests/test_interface.py
keeps this equal to the catalog's signatures."""
