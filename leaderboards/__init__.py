"""Leaderboards: tracks over archbench tables, data-only submissions, hidden splits and a static site.

A host turns a table it built into a leaderboard (:func:`leaderboards.board.init_board`): a public
folder (what entrants see, with a SHA-256 commitment to the hidden truth) and a host-only folder
(the hidden truth). Submissions are CSV or Parquet rows plus a JSON metadata block; they are read as
data, never unpickled or executed. See ``docs/leaderboards.md``.
"""
