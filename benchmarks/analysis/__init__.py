"""Analysis over tables: ``metrics`` (rank correlations, bootstrap), ``report`` (proxy-vs-truth
reports), ``sensitivity`` (protocol sensitivity), ``derived`` (curve metrics derived into a journal)
and ``render`` (HTML/Markdown). Imports :mod:`benchmarks.storage` only.
"""
