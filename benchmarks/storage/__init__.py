"""Storage: what a build leaves on disk and how it is read back.

``schema`` (record and architecture columns), ``journal`` (the SQLite
journal of units, records and sessions), ``progress`` and ``status`` (stages, pace and ETA read from a
journal), ``store`` (journal -> Parquet + hash-checked manifest, atomic folders), ``table`` (the query
API), ``release`` (release folders and their dataset card), ``hf`` (Hugging Face ``datasets``) and
``markup``. Storage imports no other part of :mod:`benchmarks`.
"""
