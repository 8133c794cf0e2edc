"""Scale benchmark and its synthetic intents (run by hand: python benchmarks/bench_scale.py)."""
