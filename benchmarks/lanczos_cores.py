"""Does a second CPU core speed up one λ_max call? Three ways of running the same 9-product
Lanczos on ``benchmarks.mlp``'s digits MLP (64-32-10, d = 2410, Glorot start), timed in one
run against each other:

* ``one_device``: ``hessian_operator`` + ``top_eigenpair`` on all examples, jitted;
* ``halves``: the product as the sum of two operators, each linearised on half of the
  examples, in one program on one device (XLA:CPU may run independent ops at once);
* ``two_devices``: the examples split over 2 CPU devices with ``shard_map``, one ``psum`` of
  the local products per Lanczos step.

All three use the first 1796 examples (even halves) and return the same Ritz value to
float32 rounding. ``python -m benchmarks.lanczos_cores`` prints milliseconds per call
(best of ``--repeats`` rounds of ``--calls`` calls) and each method's ratio to
``one_device``.
"""

from __future__ import annotations

import argparse
import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

import saddle
from benchmarks import mlp
from benchmarks.timing import round_robin
from saddle.curvature.krylov import hessian_operator, top_eigenpair

PRODUCTS = 9  # Lanczos steps that reach λ_max to 1e-3 on this network (benchmarks.networks)


def _top(matvec: Callable[[jax.Array], jax.Array], x: jax.Array, key: jax.Array
         ) -> jax.Array:
    """The top Ritz value of ``PRODUCTS`` Lanczos steps from the Gaussian start
    ``saddle.curvature.sharpness`` draws from ``key``."""
    start, restart = jax.random.split(key)
    return top_eigenpair(matvec, jax.random.normal(start, x.shape, x.dtype), PRODUCTS,
                         key=restart)[0]


def methods(loss: Callable[..., jax.Array], x: jax.Array, X: jax.Array, y: jax.Array,
            key: jax.Array) -> dict:
    """The three calls (module docstring), each ``() → λ`` on fixed inputs ``X [N, 64]``,
    ``y [N]`` (N even); ``two_devices`` on the first two devices, or one where one exists."""
    def one_device(x, key, X, y):
        return _top(hessian_operator(loss, x, (X, y))[1], x, key)

    def halves(x, key, X, y):
        n = X.shape[0] // 2
        ops = [hessian_operator(lambda z, d: loss(z, d) / 2, x, (X[s], y[s]))[1]
               for s in (slice(0, n), slice(n, None))]
        return _top(lambda v: ops[0](v) + ops[1](v), x, key)

    mesh = jax.sharding.Mesh(np.asarray(jax.devices()[:2]), ("data",))  # 1 where 1 exists
    P = jax.sharding.PartitionSpec

    @functools.partial(jax.shard_map, mesh=mesh, in_specs=(P(), P(), P("data"), P("data")),
                       out_specs=P(), check_vma=False)
    def two_devices(x, key, X, y):  # the mean loss is the mean of the equal shards' means
        local = hessian_operator(lambda z, d: loss(z, d) / mesh.size, x, (X, y))[1]
        return _top(lambda v: jax.lax.psum(local(v), "data"), x, key)

    split = jax.sharding.NamedSharding(mesh, P("data"))
    Xs, ys = jax.device_put(X, split), jax.device_put(y, split)
    calls = {"one_device": (one_device, X, y), "halves": (halves, X, y),
             "two_devices": (two_devices, Xs, ys)}
    return {name: functools.partial(jax.jit(f), x, key, a, b)
            for name, (f, a, b) in calls.items()}


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--calls", type=int, default=40, help="λ_max calls per timing")
    p.add_argument("--repeats", type=int, default=3, help="timed rounds (best counts)")
    a = p.parse_args(argv)
    if a.calls < 1 or a.repeats < 1:
        p.error("--calls and --repeats must be >= 1")
    saddle.use_cpu_cores(2)  # before JAX starts: 2 CPU devices, NPROC widened
    X, y = mlp.digits()
    X, y = jnp.asarray(X[:1796]), jnp.asarray(y[:1796])
    key = jax.random.PRNGKey(0)
    x = mlp.mlp_starts(key, 1, mlp.SIZES)[0]
    calls = methods(mlp.mlp(mlp.SIZES).loss, x, X, y, key)
    res = round_robin({m: (lambda f=f: [f().block_until_ready() for _ in range(a.calls)])
                       for m, f in calls.items()}, a.repeats)
    ms = {m: 1e3 * float(np.min(res[m]["times_s"])) / a.calls for m in calls}
    lam = {m: float(res[m]["out"][-1]) for m in calls}
    for m in calls:
        print(f"{m:12s} {ms[m]:6.2f} ms per call  one_device ÷ this {ms['one_device'] / ms[m]:.2f}"
              f"  λ_max {lam[m]:.6g}")
    return {"ms": ms, "lam_max": lam}


if __name__ == "__main__":
    main()
