"""Admin routes: download the whole registry, restore it into an empty one."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from registry.backup import export, restore
from registry.backup.schemas import Backup, ImportSummary
from registry.db import Database
from registry.dependencies import AdminAccess, WriteSession
from registry.routing import KeyCheckingRoute

router = APIRouter(prefix="/v1/admin", tags=["admin"], route_class=KeyCheckingRoute)


@router.get(
    "/export",
    response_class=Response,
    responses={200: {"model": Backup, "description": "The backup, as a file to save."}},
)
def export_registry(request: Request, _: AdminAccess) -> Response:
    """Every prompt, version, label, translation and style guide as one JSON backup (admin)."""
    # A transaction of its own: the key check has already run a query in the request's,
    # and the snapshot must be taken before the first query.
    db: Database = request.app.state.db
    with db.session(write=False) as session:
        export.snapshot(session)
        data = export.export_registry(session)
    stamp = data["exported_at"][:19].replace(":", "").replace("-", "")
    return Response(
        export.dumps(data),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="registry-{stamp}.json"'},
    )


@router.post("/import")
def import_registry(
    body: Annotated[
        dict[str, Any],
        Body(description="A backup from `GET /v1/admin/export` or `registry export`."),
    ],
    session: WriteSession,
    _: AdminAccess,
) -> ImportSummary:
    """Restore a backup into an empty registry, all or nothing (admin)."""
    return restore.import_registry(session, body)
