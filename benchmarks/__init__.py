"""Speed and memory of ``saddle`` against baselines, measured in one run, as ratios.

``python -m benchmarks.throughput`` (``--help`` lists the fields; ``--studies engine mlp``
runs only the comparisons with the frozen engine and with a bare ``jit(vmap(scan))``).
Results go to ``results/throughput/``.
"""
