"""Admin routes: download the whole registry, restore it into an empty one."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Response

from registry.backup import service
from registry.backup.schemas import Backup, ImportSummary
from registry.dependencies import AdminAccess, SessionDep

router = APIRouter(prefix="/v1/admin", tags=["admin"])


@router.get(
    "/export",
    response_class=Response,
    responses={200: {"model": Backup, "description": "The backup, as a file to save."}},
)
def export_registry(session: SessionDep, _: AdminAccess) -> Response:
    """Every prompt, version, label, translation and style guide as one JSON backup (admin)."""
    service.snapshot(session)
    data = service.export_registry(session)
    stamp = data["exported_at"][:19].replace(":", "").replace("-", "")
    return Response(
        service.dumps(data),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="registry-{stamp}.json"'},
    )


@router.post("/import")
def import_registry(
    body: Annotated[
        dict[str, Any],
        Body(description="A backup from `GET /v1/admin/export` or `registry export`."),
    ],
    session: SessionDep,
    _: AdminAccess,
) -> ImportSummary:
    """Restore a backup into an empty registry, all or nothing (admin)."""
    return service.import_registry(session, body)
