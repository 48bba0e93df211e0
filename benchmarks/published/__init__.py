"""Importers of published results (NB201 accuracies, zero-cost JSON, hardware tables) into tables.

Imports :mod:`benchmarks.storage` only.
"""
