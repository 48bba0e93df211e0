"""NAS benchmark tables: storage, the build pipeline, analysis, importers and the ``archbench`` CLI.

Parts, each importing only the ones listed after it: :mod:`benchmarks.commands` (subcommands; the root
parser is :mod:`benchmarks.cli`), :mod:`benchmarks.published` (importers), :mod:`benchmarks.pipeline`
(``build_table``, evaluators, driver, executors), :mod:`benchmarks.analysis` (rank metrics, reports)
and :mod:`benchmarks.storage` (schema, journal, Parquet store, ``Table``). The flat modules beside
them (``benchmarks.table``, ``benchmarks.build``...) are the old import paths, kept working.
"""
