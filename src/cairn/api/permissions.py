"""The route table: every route of the API and the permission action it needs.

This is the one place that says who may call what. `create_app` refuses to start when a route
is missing here (or an entry names no route), and the authorisation-matrix test is generated
from this table and `services.access.PERMISSIONS`, so a new route cannot ship unchecked.

`PUBLIC` routes need no token (health, login); `AUTHENTICATED` ones need a valid token but no
particular role (the caller's own identity and API tokens). Every other value is an action of
`services.access.PERMISSIONS`.
"""

from __future__ import annotations

from typing import Final

PUBLIC: Final = "public"
AUTHENTICATED: Final = "authenticated"

V1: Final = "/api/v1"

ROUTE_PERMISSIONS: Final[dict[tuple[str, str], str]] = {
    ("GET", f"{V1}/health"): PUBLIC,
    ("POST", f"{V1}/auth/token"): PUBLIC,
    ("GET", f"{V1}/auth/me"): AUTHENTICATED,
    ("GET", f"{V1}/auth/api-tokens"): AUTHENTICATED,
    ("POST", f"{V1}/auth/api-tokens"): AUTHENTICATED,
    ("DELETE", f"{V1}/auth/api-tokens/{{token_id}}"): AUTHENTICATED,
    ("GET", f"{V1}/cases"): "case.read",
    ("POST", f"{V1}/cases"): "case.create",
    ("GET", f"{V1}/cases/{{ref}}"): "case.read",
    ("GET", f"{V1}/cases/{{ref}}/evidence"): "case.read",
    ("POST", f"{V1}/cases/{{ref}}/evidence"): "evidence.add",
    ("GET", f"{V1}/evidence-roots"): "evidence.roots",
    ("POST", f"{V1}/cases/{{ref}}/ingest"): "ingest.start",
    ("POST", f"{V1}/cases/{{ref}}/match"): "match.run",
    ("GET", f"{V1}/cases/{{ref}}/media"): "media.read",
    ("GET", f"{V1}/cases/{{ref}}/triage"): "triage.read",
    ("GET", f"{V1}/cases/{{ref}}/matches"): "triage.read",
    ("GET", f"{V1}/cases/{{ref}}/export/hashes"): "case.export",
    ("GET", f"{V1}/cases/{{ref}}/report"): "case.export",
    ("GET", f"{V1}/cases/{{ref}}/messages"): "messages.read",
    ("GET", f"{V1}/cases/{{ref}}/series-suggestions"): "series.read",
    ("GET", f"{V1}/cases/{{ref}}/grades"): "grade.read",
    ("POST", f"{V1}/cases/{{ref}}/grades"): "grade.write",
    ("POST", f"{V1}/cases/{{ref}}/grades/retract"): "grade.write",
    ("GET", f"{V1}/cases/{{ref}}/grades/agreement"): "grade.read",
    ("PUT", f"{V1}/grading/policy"): "grade.policy",
    ("GET", f"{V1}/media/{{sha256}}"): "media.read",
    ("GET", f"{V1}/media/{{sha256}}/thumbnail"): "thumbnail.read",
    ("GET", f"{V1}/jobs"): "job.read",
    ("GET", f"{V1}/jobs/{{job_id}}"): "job.read",
    ("POST", f"{V1}/jobs/{{job_id}}/cancel"): "ingest.cancel",
    ("GET", f"{V1}/hashsets"): "hashset.read",
    ("POST", f"{V1}/hashsets"): "hashset.import",
    ("GET", f"{V1}/hashsets/{{hashset_id}}"): "hashset.read",
    ("GET", f"{V1}/hashsets/{{hashset_id}}/export"): "hashset.read",
    ("PUT", f"{V1}/hashsets/{{hashset_id}}/shared"): "hashset.share",
    ("GET", f"{V1}/search"): "search.hash",
    ("POST", f"{V1}/similar"): "search.similar",
    ("GET", f"{V1}/cases/{{ref}}/cameras"): "camera.read",
    ("POST", f"{V1}/cases/{{ref}}/cameras"): "camera.write",
    ("GET", f"{V1}/cases/{{ref}}/camera-matches"): "camera.read",
    ("POST", f"{V1}/cases/{{ref}}/camera-matches"): "camera.match",
    ("GET", f"{V1}/cases/{{ref}}/camera-signatures"): "camera.read",
    ("GET", f"{V1}/series"): "series.read",
    ("POST", f"{V1}/series"): "series.write",
    ("GET", f"{V1}/series/{{series_id}}"): "series.read",
    ("PATCH", f"{V1}/series/{{series_id}}"): "series.write",
    ("GET", f"{V1}/series/{{series_id}}/victims"): "series.read",
    ("POST", f"{V1}/series/{{series_id}}/victims"): "series.write",
    ("GET", f"{V1}/victims/{{victim_id}}"): "series.read",
    ("PATCH", f"{V1}/victims/{{victim_id}}"): "series.write",
    ("GET", f"{V1}/series/{{series_id}}/persons"): "series.read",
    ("POST", f"{V1}/series/{{series_id}}/persons"): "series.write",
    ("GET", f"{V1}/persons/{{person_id}}"): "series.read",
    ("PATCH", f"{V1}/persons/{{person_id}}"): "series.write",
    ("GET", f"{V1}/series/{{series_id}}/clues"): "series.read",
    ("POST", f"{V1}/series/{{series_id}}/clues"): "series.write",
    ("GET", f"{V1}/clues/{{clue_id}}"): "series.read",
    ("PATCH", f"{V1}/clues/{{clue_id}}"): "series.write",
    ("GET", f"{V1}/series/{{series_id}}/countries"): "series.read",
    ("GET", f"{V1}/series/{{series_id}}/leads"): "series.read",
    ("POST", f"{V1}/series/{{series_id}}/leads"): "series.write",
    ("GET", f"{V1}/leads/{{lead_id}}"): "series.read",
    ("PATCH", f"{V1}/leads/{{lead_id}}"): "series.write",
    ("POST", f"{V1}/clues/{{clue_id}}/crops"): "series.write",
    ("GET", f"{V1}/crops/{{crop_id}}"): "series.read",
    ("POST", f"{V1}/crops/{{crop_id}}/confirm"): "series.write",
    ("POST", f"{V1}/crops/{{crop_id}}/publish"): "series.write",
    ("POST", f"{V1}/crops/{{crop_id}}/tips"): "series.write",
    ("GET", f"{V1}/series/{{series_id}}/export/geojson"): "series.export",
    ("POST", f"{V1}/series/{{series_id}}/export/lead"): "series.export",
    ("GET", f"{V1}/inbox"): AUTHENTICATED,
    ("POST", f"{V1}/series/{{series_id}}/media"): "series.write",
    ("POST", f"{V1}/series/{{series_id}}/media/remove"): "series.write",
    ("PUT", f"{V1}/series/{{series_id}}/status"): "series.write",
    ("POST", f"{V1}/series/{{series_id}}/merge"): "series.write",
    ("POST", f"{V1}/series/{{series_id}}/split"): "series.write",
    ("GET", f"{V1}/users"): "user.manage",
    ("POST", f"{V1}/users"): "user.manage",
    ("PUT", f"{V1}/users/{{username}}/active"): "user.manage",
    ("GET", f"{V1}/audit"): "audit.read",
    ("GET", f"{V1}/audit/verify"): "audit.verify",
    ("GET", f"{V1}/alerts"): "alert.read",
    ("POST", f"{V1}/alerts"): "alert.write",
    ("GET", f"{V1}/alerts/hits"): "alert.read",
    ("GET", f"{V1}/share/key"): "share.read",
    ("GET", f"{V1}/share/hashsets/{{hashset_id}}/bundle"): "share.read",
    ("GET", f"{V1}/share/hashsets/{{hashset_id}}/filter"): "share.read",
    ("GET", f"{V1}/share/notices"): "share.read",
    ("GET", f"{V1}/share/series"): "share.read",
    ("GET", f"{V1}/share/notice-hits"): "share.read",
    ("POST", f"{V1}/share/import"): "share.import",
}
