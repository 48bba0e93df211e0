"""The ``archbench`` subcommands of :mod:`benchmarks`: argument parsing only; the work is one call into
:mod:`benchmarks.pipeline`, :mod:`benchmarks.analysis`, :mod:`benchmarks.published` or
:mod:`benchmarks.storage`. The root parser is :mod:`benchmarks.cli`.
"""
