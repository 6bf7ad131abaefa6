"""Speed and memory measurements of simcj (not tests: run `python -m benchmarks`)."""
