"""Every table Cairn has: importing this module registers all model modules on Base.metadata.

Model modules are split by concern (spine and known material, cameras, video, messaging,
agencies and their users, series and their victim-identification records, grades, jobs,
federation, media links, the review workspace); migrations and schema checks import this one
module so that none is forgotten.
"""

from cairn.store import (
    alert_models,
    camera_models,
    grade_models,
    identity_models,
    job_models,
    link_models,
    messaging_models,
    models,
    record_models,
    review_models,
    series_models,
    share_models,
    video_models,
)

metadata = models.Base.metadata

__all__ = [
    "alert_models",
    "camera_models",
    "grade_models",
    "identity_models",
    "job_models",
    "link_models",
    "messaging_models",
    "metadata",
    "models",
    "record_models",
    "review_models",
    "series_models",
    "share_models",
    "video_models",
]
