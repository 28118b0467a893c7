"""Benchmarks run by ``make bench``; each module's ``run()`` prints its figures."""
