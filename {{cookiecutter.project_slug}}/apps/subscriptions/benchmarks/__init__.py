"""Benchmarks of the subscriptions app, each runnable with `python -m`."""
