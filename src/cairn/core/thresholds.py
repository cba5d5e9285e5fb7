"""PDQ's distances and quality floor, defined once. A hash set may set its own match distance
(`--pdq-threshold`); these are the defaults and the bounds every comparison starts from."""

from __future__ import annotations

from typing import Final

# PDQ's published match threshold (Meta's ThreatExchange PDQ documentation): two hashes at a
# Hamming distance of 31 bits or less are of the same picture. Also vPDQ's per-frame threshold.
PDQ_MATCH_DISTANCE: Final = 31
# Top of the "possible" band (issue 3: 32-52 by default): hits between a set's threshold and
# this are recorded for a human to confirm, never as matches. Unrelated pictures sit near 128.
PDQ_POSSIBLE_MAX: Final = 52
# PDQ's own advice, and the vPDQ reference's default quality tolerance: a hash of quality below
# 50 (a flat or nearly featureless picture) is unreliable, so it is stored but never trusted.
PDQ_MIN_QUALITY: Final = 50
