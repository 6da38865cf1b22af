"""cloudmall's benchmark harness: load scenarios, a runner and the report (docs/benchmarks.md).

It talks to the shop over HTTP on 127.0.0.1 only and runs the `cloudmall` command line as a
subprocess; it imports nothing from `cloudmall`. Entry points: `python -m bench.run [--quick]` and
`python -m bench.profile`.
"""
