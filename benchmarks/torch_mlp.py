"""PyTorch counterparts of ``benchmarks.mlp``'s MLP, from the same flat JAX parameters.

The network is ``nn.Sequential(Linear, Tanh, ..., Linear)`` with ``sizes`` widths and the
mean softmax cross-entropy (``nn.CrossEntropyLoss``), the loss ``benchmarks.mlp.mlp``
computes. A flat JAX vector ``x [d]`` is unravelled layer by layer as ``ravel_pytree``
laid it out (``W [a, b]`` row-major, then ``bias [b]``) and copied into the module
(``nn.Linear`` keeps ``Wᵀ [b, a]``). Training is plain full-batch SGD, ``θ ← θ − lr ∇L``:

* ``train_func``: every network at once with ``torch.func`` (``stack_module_state``,
  ``functional_call``, ``vmap(grad(loss))``), the functional-PyTorch way;
* ``train_loop``: one network after the other, each an ``nn.Module`` with
  ``torch.optim.SGD``, the ordinary way.

torch is optional (the ``bench`` extra): import this module only where it is installed.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, grad, stack_module_state, vmap


def module(x: np.ndarray, sizes: Sequence[int]) -> nn.Sequential:
    """The ``nn.Sequential`` MLP whose parameters are the flat JAX vector ``x [d]``."""
    x = np.asarray(x, np.float32)
    layers: list[nn.Module] = []
    start = 0
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        lin = nn.Linear(a, b)
        w = x[start:start + a * b].reshape(a, b)
        bias = x[start + a * b:start + a * b + b]
        start += a * b + b
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(w.T.copy()))
            lin.bias.copy_(torch.from_numpy(bias.copy()))
        layers += [lin] if i == len(sizes) - 2 else [lin, nn.Tanh()]
    if start != x.size:
        raise ValueError(f"x must hold {start} parameters for sizes {tuple(sizes)}, got {x.size}")
    return nn.Sequential(*layers)


def flat(model: nn.Sequential) -> np.ndarray:
    """The module's parameters as one flat vector ``[d]`` in JAX's (``ravel_pytree``) order."""
    parts = []
    for lin in model:
        if isinstance(lin, nn.Linear):
            parts += [lin.weight.detach().numpy().T.ravel(), lin.bias.detach().numpy()]
    return np.concatenate(parts)


def tensors(X: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs as float32 and labels as int64 (what ``cross_entropy`` takes) torch tensors."""
    return torch.from_numpy(np.asarray(X, np.float32)), torch.from_numpy(np.asarray(y, np.int64))


def train_func(x0: np.ndarray, X: np.ndarray, y: np.ndarray, sizes: Sequence[int], lr: float,
               steps: int) -> np.ndarray:
    """``steps`` SGD steps of every network of ``x0 [n, d]`` at once (``torch.func``);
    returns the final flat parameters ``[n, d]``."""
    Xt, yt = tensors(X, y)
    models = [module(x, sizes) for x in x0]
    params, _ = stack_module_state(models)
    params = {k: v.detach() for k, v in params.items()}
    base = copy.deepcopy(models[0]).to("meta")

    def loss(p: dict, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return nn.functional.cross_entropy(functional_call(base, (p,), (X,)), y)

    grads = vmap(grad(loss), in_dims=(0, None, None))
    with torch.no_grad():
        for _ in range(steps):
            g = grads(params, Xt, yt)
            params = {k: p - lr * g[k] for k, p in params.items()}
    out = []
    for i in range(len(x0)):
        parts = []
        for j in range(len(sizes) - 1):
            w, b = params[f"{2 * j}.weight"][i], params[f"{2 * j}.bias"][i]
            parts += [w.numpy().T.ravel(), b.numpy()]
        out.append(np.concatenate(parts))
    return np.stack(out)


def train_loop(x0: np.ndarray, X: np.ndarray, y: np.ndarray, sizes: Sequence[int], lr: float,
               steps: int) -> np.ndarray:
    """``steps`` SGD steps of each network of ``x0 [n, d]`` in turn (``nn.Module`` +
    ``torch.optim.SGD``); returns the final flat parameters ``[n, d]``."""
    Xt, yt = tensors(X, y)
    loss_fn = nn.CrossEntropyLoss()
    out = []
    for x in x0:
        model = module(x, sizes)
        opt = torch.optim.SGD(model.parameters(), lr=lr)
        for _ in range(steps):
            opt.zero_grad(set_to_none=True)
            loss_fn(model(Xt), yt).backward()
            opt.step()
        out.append(flat(model))
    return np.stack(out)


def losses(xs: np.ndarray, X: np.ndarray, y: np.ndarray, sizes: Sequence[int]) -> np.ndarray:
    """Mean cross-entropy ``[n]`` of each flat parameter vector of ``xs [n, d]``, in torch."""
    Xt, yt = tensors(X, y)
    with torch.no_grad():
        return np.array([float(nn.functional.cross_entropy(module(x, sizes)(Xt), yt))
                         for x in xs])
