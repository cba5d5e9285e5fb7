"""Video matching: known videos (vPDQ hash sets), known images seen as frames, and the videos
of the workspace compared with each other.

Every comparison is of frame hashes (quality >= 50) at Hamming distance <= the set's PDQ
threshold (31 by default), plus the frames on a clip's time-offset line (`cairn.hashing.vpdq`
says when), and reports both shares. The pairs of videos worth comparing are found by an exact
index search at the aligned distance (63), then each pair is compared whole. That radius costs
more than 31: 1 ms per query frame against 0.05 ms over a million stored frames
(`VideoMatchSettings(aligned_distance=0)` goes back to plain vPDQ).

* a case video against a known video: "match" when at least 80 % of the known video's frames
  are in the case video (a copy, or a compilation containing it), "clip" when 80 % of the case
  video is in the known video (a clip cut from it), "possible" when either share reaches 50 %;
* a known image (a PDQ in any hash set) as a frame of a case video, and a case image as a frame
  of a known video: the best frame, by the set's threshold, with the 32-52 review band;
* case videos against every other video of the workspace: the same shares, recorded in
  `video_matches` for linking (a workspace video is not "known", so triage is unchanged).

Hash-set hits become `Match` rows with method "vpdq", so the triage buckets and exports see
them beside PDQ hits; `match_variant` says "clip" or which frame ("frame 12.000s").
Matching is idempotent: rows already stored are kept as they were.
"""
