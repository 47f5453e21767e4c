"""Neural networks as objectives: a flax model and a data set → an ``Objective`` over one flat
parameter vector.

A flax ``linen`` module is initialised once for its structure; ``ravel_pytree`` flattens
its parameters to θ ∈ R^d, and the loss becomes a pure function ``fn(θ, (x, y))`` that
``jax.grad``, ``jax.hessian``, Hessian-vector products and ``vmap`` over thousands of
starts apply to directly. ``Net.unravel(θ)`` gives the parameter pytree back, and
``Net.init(key)`` draws θ with the model's own initialisers (the scheme it was built
with, ``saddle.starts.scheme``).

Losses, per example averaged over the batch (the mean, so the loss does not grow with
the data set; a minibatch gives an unbiased estimate of the full-batch loss):

* ``"mse"``: ½‖ŷ − y‖², the ½ so that the Hessian of a linear model is the covariance
  XᵀX/n; summed over outputs, averaged over examples.
* ``"cross_entropy"``: −log softmax(ŷ)_y for integer labels y (a single output with
  labels 0/1 is the logistic loss −log σ(±ŷ)).
* ``"sigmoid_cross_entropy"``: Σₖ −tₖ log σ(ŷₖ) − (1 − tₖ) log(1 − σ(ŷₖ)), each output a
  logistic unit, for integer labels y with t = one-hot(y) (t = y, 0/1, for one output).
* ``"mse_sigmoid"``, ``"mse_softmax"``: ½‖p − t‖² with p = σ(ŷ) elementwise or softmax(ŷ)
  and t as above (mse_softmax needs ≥ 2 outputs): squared error on probabilities.

plus ``l2/2·‖θ‖²`` over all parameters (biases included) when ``l2 > 0``.

Models: ``mlp`` (widths, activation, optional biases, residual layers, batch or weight
normalisation), ``deep_linear`` (no activation, no biases), ``linear_autoencoder``
(d → h → d, trained on (x, x)), and ``two_layer`` (x ↦ Σᵢ aᵢ φ(wᵢᵀx), the second layer
fixed or trained) for teacher–student.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.flatten_util import ravel_pytree

from saddle._checks import one_of, positive_int
from saddle.objectives.core import Objective, check_data
from saddle.starts import Scheme, scheme

ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "tanh": jnp.tanh, "relu": jax.nn.relu, "gelu": jax.nn.gelu, "sigmoid": jax.nn.sigmoid,
    "linear": lambda z: z,
}
LOSSES = ("mse", "cross_entropy", "sigmoid_cross_entropy", "mse_sigmoid", "mse_softmax")
NORMS = ("none", "batch", "weight")


class DenseT(nn.Module):
    """``nn.Dense`` on feature-major activations: ``hT [fan_in, n] ↦ kernelᵀ·hT + bias
    [fan_out, n]``, with ``nn.Dense``'s parameters (``kernel [fan_in, fan_out]``,
    ``bias [fan_out]``), so a module built from it ravels to the same θ."""

    features: int
    use_bias: bool
    scheme: Scheme

    def kernel(self, fan_in: int) -> jax.Array:
        return self.param("kernel", self.scheme.kernel, (fan_in, self.features))

    @nn.compact
    def __call__(self, hT: jax.Array) -> jax.Array:
        y = jnp.einsum("io,in->on", self.kernel(hT.shape[0]), hT)
        if self.use_bias:
            y = y + self.param("bias", self.scheme.bias(hT.shape[0]), (self.features,))[:, None]
        return y


class WeightNormDense(DenseT):
    """``DenseT`` with weight normalisation (Salimans & Kingma 2016): kernel column
    ``w_j = g_j·v_j/‖v_j‖`` per output unit j, ``v [fan_in, fan_out]`` drawn by ``scheme``,
    ``g`` initialised to ‖v_j‖ (so the layer starts as the plain dense layer of kernel v)."""

    def kernel(self, fan_in: int) -> jax.Array:
        v = self.param("v", self.scheme.kernel, (fan_in, self.features))
        g = self.param("g", lambda key, shape: jnp.linalg.norm(v, axis=0), (self.features,))
        return v * (g / jnp.linalg.norm(v, axis=0))


def batch_norm(h: jax.Array, ref: jax.Array, scale: jax.Array, shift: jax.Array,
               eps: float = 1e-5, axis: int = 0) -> jax.Array:
    """``scale·(h − μ)/√(σ² + eps) + shift`` per unit, μ and σ² the mean and (biased)
    variance of ``ref`` over its examples' ``axis`` (Ioffe & Szegedy 2015, training
    mode): ``[n, units]`` with ``axis=0``, feature-major ``[units, n]`` with ``axis=1``."""
    mean = jnp.mean(ref, axis=axis, keepdims=True)
    var = jnp.var(ref, axis=axis, keepdims=True)
    if axis:
        scale, shift = scale[:, None], shift[:, None]
    return scale * (h - mean) * jax.lax.rsqrt(var + eps) + shift


class MLP(nn.Module):
    """Dense layers of ``widths`` (the last is the output), ``activation`` between them, none
    after the last; kernels ``[fan_in, fan_out]`` and biases drawn by ``scheme``.

    ``residual``: hidden layers after the first are ``x ↦ x + φ(Wx + b)`` (equal widths).
    ``norm``: "batch" normalises every hidden pre-activation with the batch's own mean and
    variance (``batch_norm``; learned scale 1 and shift 0 at init, no dense biases), so the
    output of one example depends on the whole batch; "weight" uses ``WeightNormDense``
    for every layer. ``__call__(x, reference)`` takes batch-norm statistics from the
    batch ``reference`` instead of ``x`` (e.g. the training set, to evaluate test data).

    Inside, activations are feature-major ``[units, n]`` (``DenseT``): inputs ``[..., in]``
    and outputs ``[..., out]`` keep their leading axes (flattened into n inside, so batch
    norm's statistics run over all of them), but ``capture_intermediates`` sees each
    layer's ``[units, n]``.
    """

    widths: Sequence[int]
    activation: str = "tanh"
    bias: bool = True
    scheme: Scheme = scheme("lecun_normal")
    residual: bool = False
    norm: str = "none"

    @nn.compact
    def __call__(self, x: jax.Array, reference: jax.Array | None = None) -> jax.Array:
        # Feature-major inside ([units, n]): vmapped over many θ with shared data, the first
        # layer is one GEMM whose output is already in the run-major layout the later
        # (batched) layers read, so XLA adds no transposes of the [units, n] activations.
        act = ACTIVATIONS[self.activation]
        lead = x.shape[:-1]  # any leading axes (none: one example) are flattened into n
        xT = x.reshape(-1, x.shape[-1]).T
        refT = xT if reference is None else reference.reshape(-1, reference.shape[-1]).T
        for i, width in enumerate(self.widths):
            hidden = i < len(self.widths) - 1
            batch = self.norm == "batch" and hidden
            layer = WeightNormDense if self.norm == "weight" else DenseT
            dense = layer(width, self.bias and not batch, self.scheme, name=f"dense_{i}")
            h = dense(xT)
            if batch:
                h_ref = h if reference is None else dense(refT)
                scale = self.param(f"bn_scale_{i}", nn.initializers.ones, (width,))
                shift = self.param(f"bn_shift_{i}", nn.initializers.zeros, (width,))
                h = batch_norm(h, h_ref, scale, shift, axis=1)
                if reference is not None:
                    h_ref = batch_norm(h_ref, h_ref, scale, shift, axis=1)
            elif reference is not None:
                h_ref = dense(refT)
            if not hidden:
                return h.T.reshape(*lead, width)
            skip = self.residual and i > 0
            xT = xT + act(h) if skip else act(h)
            if reference is not None:
                refT = refT + act(h_ref) if skip else act(h_ref)
        return xT.T.reshape(*lead, -1)


class TwoLayer(nn.Module):
    """x ↦ Σᵢ aᵢ φ(wᵢᵀx), ``width`` hidden units, no biases; a = 1 fixed unless
    ``train_output`` (Safran & Shamir 2018's student)."""

    width: int
    activation: str = "relu"
    train_output: bool = False
    scheme: Scheme = scheme("lecun_normal")

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        h = ACTIVATIONS[self.activation](
            nn.Dense(self.width, use_bias=False, kernel_init=self.scheme.kernel, name="hidden")(x))
        if self.train_output:
            return nn.Dense(1, use_bias=False, kernel_init=self.scheme.kernel, name="output")(h)
        return jnp.sum(h, axis=-1, keepdims=True)


@dataclasses.dataclass(frozen=True, eq=False)
class Net:
    """A flax module with its parameters as one flat vector θ ``[dim]``.

    ``apply(θ, x)``: outputs ``[n, out]`` for inputs ``[n, in_dim]``; ``unravel(θ)``: the
    parameter pytree; ``init(key)``: θ drawn by the module's initialisers; ``shapes``:
    the parameter pytree's shapes.
    """

    module: nn.Module
    in_dim: int
    dim: int
    unravel: Callable[[jax.Array], Any]
    shapes: Any

    def apply(self, theta: jax.Array, x: jax.Array) -> jax.Array:
        return self.module.apply({"params": self.unravel(theta)}, x)

    def init(self, key: jax.Array) -> jax.Array:
        x = jnp.zeros((1, self.in_dim), jnp.float32)
        return ravel_pytree(self.module.init(key, x)["params"])[0]


def net(module: nn.Module, in_dim: int) -> Net:
    """``Net`` of a flax ``module`` taking inputs ``[n, in_dim]`` (shapes traced, nothing run)."""
    in_dim = positive_int(in_dim, "in_dim")
    x = jnp.zeros((1, in_dim), jnp.float32)
    params = jax.eval_shape(lambda: module.init(jax.random.PRNGKey(0), x))["params"]
    flat, unravel = ravel_pytree(jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), params))
    return Net(module=module, in_dim=in_dim, dim=int(flat.shape[0]), unravel=unravel,
               shapes=jax.tree.map(lambda s: s.shape, params))


def mlp(in_dim: int, widths: Sequence[int], activation: str = "tanh", *, bias: bool = True,
        init: str | Scheme = "lecun_normal", residual: bool = False, norm: str = "none") -> Net:
    """A multilayer perceptron ``in_dim → widths[0] → … → widths[-1]`` (``MLP``: residual
    hidden layers need equal hidden widths; ``norm`` one of ``NORMS``)."""
    widths = tuple(positive_int(w, "widths") for w in widths)
    if not widths:
        raise ValueError("widths must name at least one layer (the output)")
    one_of(activation, "activation", tuple(ACTIVATIONS))
    one_of(norm, "norm", NORMS)
    if residual and len(set(widths[:-1])) > 1:
        raise ValueError(f"residual needs equal hidden widths, got {widths[:-1]}")
    return net(MLP(widths, activation, bias, _scheme(init), bool(residual), norm), in_dim)


def apply_with_statistics(net_: Net, theta: jax.Array, x: jax.Array,
                          reference: jax.Array) -> jax.Array:
    """Outputs ``[n, out]`` of an ``mlp`` net on ``x`` with batch-norm statistics from the
    batch ``reference [m, in_dim]`` (e.g. the training set); without batch norm, the same
    as ``net_.apply(theta, x)``."""
    return net_.module.apply({"params": net_.unravel(theta)}, x, reference)


def deep_linear(in_dim: int, widths: Sequence[int], *, init: str | Scheme = "lecun_normal") -> Net:
    """A deep linear network x ↦ W_L ⋯ W_1 x (no biases, no activation)."""
    return mlp(in_dim, widths, "linear", bias=False, init=init)


def linear_autoencoder(in_dim: int, hidden: int, *, init: str | Scheme = "lecun_normal") -> Net:
    """x ↦ W₂W₁x with W₁ ``[hidden, in_dim]``: train it on data (x, x) (Baldi & Hornik 1989)."""
    return deep_linear(in_dim, (positive_int(hidden, "hidden"), in_dim), init=init)


def two_layer(in_dim: int, width: int, activation: str = "relu", *, train_output: bool = False,
              init: str | Scheme = "lecun_normal") -> Net:
    """x ↦ Σᵢ aᵢ φ(wᵢᵀx) (``TwoLayer``)."""
    one_of(activation, "activation", tuple(ACTIVATIONS))
    return net(TwoLayer(positive_int(width, "width"), activation, train_output, _scheme(init)),
               in_dim)


def _scheme(init: str | Scheme) -> Scheme:
    return init if isinstance(init, Scheme) else scheme(init)


def loss_fn(net_: Net, loss: str = "mse", l2: float = 0.0) -> Callable[[jax.Array, Any], jax.Array]:
    """``fn(θ, (x, y)) -> []``: the mean per-example ``loss`` of ``net_`` on a batch, plus
    ``l2``/2·‖θ‖² (module docstring)."""
    one_of(loss, "loss", LOSSES)
    if not (np.isfinite(l2) and l2 >= 0):
        raise ValueError(f"l2 must be a finite number >= 0, got {l2!r}")

    def targets(y: jax.Array, out: jax.Array) -> jax.Array:
        """Integer labels ``[n]`` as 0/1 targets ``[n, k]``: one-hot, or y itself if k = 1."""
        y = y.reshape(-1).astype(jnp.int32)
        k = out.shape[-1]
        if loss == "mse_softmax" and k < 2:
            raise ValueError("loss 'mse_softmax' needs a net with >= 2 outputs (one per class)")
        return (y[:, None] if k == 1 else jax.nn.one_hot(y, k)).astype(out.dtype)

    def fn(theta: jax.Array, batch: Any) -> jax.Array:
        x, y = batch
        out = net_.apply(theta, x.astype(theta.dtype))
        if loss in ("mse_sigmoid", "mse_softmax"):
            p = jax.nn.sigmoid(out) if loss == "mse_sigmoid" else jax.nn.softmax(out, axis=-1)
            value = 0.5 * jnp.mean(jnp.sum((p - targets(y, out)) ** 2, axis=-1))
        elif loss == "sigmoid_cross_entropy":
            value = jnp.mean(jnp.sum(
                optax.losses.sigmoid_binary_cross_entropy(out, targets(y, out)), axis=-1))
        elif loss == "mse":
            value = 0.5 * jnp.mean(jnp.sum((out - y.reshape(out.shape).astype(out.dtype)) ** 2,
                                           axis=-1))
        elif out.shape[-1] == 1:  # logistic: labels 0/1, z = ±ŷ
            z = jnp.where(y.reshape(-1) > 0, 1.0, -1.0) * out[:, 0]
            value = jnp.mean(jax.nn.softplus(-z))
        else:
            logp = jax.nn.log_softmax(out, axis=-1)
            value = -jnp.mean(jnp.take_along_axis(logp, y.reshape(-1, 1).astype(jnp.int32),
                                                  axis=-1))
        return value + 0.5 * l2 * theta @ theta if l2 else value

    return fn


def objective(net_: Net, data: Any, *, loss: str = "mse", l2: float = 0.0,
              name: str = "network") -> Objective:
    """The loss of ``net_`` on ``data`` — ``(x [n, in], y)`` or a ``saddle.data.Dataset``
    (its training split) — as an ``Objective`` over θ ``[dim]`` with ``init`` = the net's
    own initialisers. ``descend(obj, x0, opt, steps)`` trains on the full batch;
    ``batch_size=`` samples minibatches."""
    if hasattr(data, "x_train"):
        data = (data.x_train, data.y_train)
    x, y = check_data(tuple(data), "data")
    if x.ndim != 2 or x.shape[1] != net_.in_dim:
        raise ValueError(f"data inputs must be [n, {net_.in_dim}] (the net's in_dim), got "
                         f"{tuple(x.shape)}")
    if not jnp.issubdtype(x.dtype, jnp.floating):
        x = x.astype(jnp.float32)
    return Objective(fn=loss_fn(net_, loss, l2), dim=net_.dim, init=net_.init, data=(x, y),
                     name=name)
