"""One process of tests/test_multihost.py: ``python tests/multihost_worker.py ID PORT OUT``.

Joins a 2-process JAX cluster on 127.0.0.1:PORT as process ID, runs its share of the
starts with ``saddle.distributed.descend`` (GD and perturbed GD), also the naive recipe
(``key=fold_in(key, process_index)``), a ``gather`` of uneven, 64-bit and bool leaves and
two calls that differ between processes, and saves what it gathered to OUT (.npz)."""

import sys

import jax
import numpy as np
import optax

import saddle
import saddle.distributed as dist
from saddle.optimizers import perturbed

N_STARTS, STEPS = 301, 200  # an odd n: the two shares differ in size (151, 150)


def problem() -> tuple:
    """The starts, the optimizers and the key (shared with the test's one-process run)."""
    obj = saddle.objectives.get("himmelblau")
    x0 = saddle.starts.uniform(jax.random.PRNGKey(0), N_STARTS, obj.bounds)
    opts = {"gd": optax.sgd(0.01),
            "pgd": perturbed(optax.sgd(0.01), radius=0.3, g_thres=0.5, t_thres=40)}
    return obj, x0, opts, jax.random.PRNGKey(1)


def main(pid: int, port: int, out: str) -> None:
    jax.distributed.initialize(coordinator_address=f"127.0.0.1:{port}", num_processes=2,
                               process_id=pid, initialization_timeout=60)
    obj, x0, opts, key = problem()
    res = {"process_count": jax.process_count(), "process_index": jax.process_index(),
           "local_devices": jax.local_device_count(), "share": dist.my_share(N_STARTS)}
    for name, opt in opts.items():
        run = dist.descend(obj, x0, opt, STEPS, key=key)
        for field in ("x", "loss", "grad_norm", "converged", "converged_step"):
            res[f"{name}_{field}"] = getattr(run, field)
    mine = res["share"]  # the README's first recipe: one key per process
    naive = saddle.descend(obj, x0[mine], opts["pgd"], STEPS,
                           key=jax.random.fold_in(key, jax.process_index()))
    res["naive_pgd_x"] = dist.gather(naive.x)
    local = {"f64": np.arange(3 + pid, dtype=np.float64) + 1e-12 + 10 * pid,
             "flag": np.arange(2 * pid + 1) % 2 == 0}
    res.update({f"gathered_{k}": v for k, v in dist.gather(local).items()})
    errors = []  # mismatches between processes must raise, not abort the process
    for bad in (lambda: dist.gather(np.zeros((2, 2 + pid))),
                lambda: dist.descend(obj, x0 + pid, opts["gd"], 1)):
        try:
            bad()
            errors.append("no error")
        except ValueError as e:
            errors.append(str(e))
    res["errors"] = np.array(errors)
    np.savez(out, **res)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3])
