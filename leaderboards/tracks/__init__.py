"""The registered leaderboard tracks (one module each); third parties add theirs via ``archbench.tracks``."""

from leaderboards.tracks import hardware, predictor, proxy, search
from leaderboards.tracks.base import TRACKS, Scores, Split, Track, get_track

__all__ = ["TRACKS", "Scores", "Split", "Track", "get_track", "hardware", "predictor", "proxy", "search"]
