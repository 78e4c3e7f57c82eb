"""The fleet simulator: boards of Lai Châu run on one machine for the demo,
the tests and the benchmarks, with scripted scenarios."""
