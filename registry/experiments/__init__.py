"""Experiments: A/B and multivariate splits of a label's traffic, outcomes and their readout.

``assignment`` and ``plan`` import neither the database nor the web framework, so the
SDK assigns arms locally with exactly the server's code; ``stats`` needs SciPy and runs
on the server only.
"""
