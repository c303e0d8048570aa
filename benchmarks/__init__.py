"""Benchmarks: jit throughput of every catalog gradient, hand-written vs autodiff vs the
forward and the memory roofline, on every device (`handgrad bench`, `python -m benchmarks`).

Modules: `cases` (what is measured, at which sizes, on which inputs), `timing` (the timing
loop), `runner` (the measurement loop), `peers` (numpy / torch), `targets`, `report` (table,
JSON), `plot` (PNG), `machine` (what it ran on), `cli` (`add_arguments`, `run`).
"""
