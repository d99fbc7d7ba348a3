"""target-async's benchmark suite: `make bench` or `python -m benchmarks [--preset quick]`.

Scenario modules each expose a function returning rows (dicts: scenario, value, unit,
ratio?, vs?); `__main__` runs them against one `edge_server` process, prints the summary
and writes `benchmarks/results/` and, for the full preset, `docs/benchmarks.md` with
`docs/img/benchmarks.png`. See `benchmarks/__main__.py` for the options.
"""
