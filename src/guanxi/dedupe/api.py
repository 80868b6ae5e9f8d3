"""``/api/v1/duplicates``: likely duplicates, "not duplicates", scans and merging."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from guanxi.access import permissions
from guanxi.platform import registry
from guanxi.platform.api import PageOut, list_page
from guanxi.platform.registry import Action

from . import selectors, services
from .models import DuplicateCandidate

router = Router(tags=["duplicates"])


class Reason(Schema):
    kind: str
    value: str | None = None
    similarity: int | None = None


class CandidateOut(Schema):
    id: int
    entity: str
    record_ids: list[int]
    group_id: int
    score: int
    reasons: list[Reason]
    status: str
    found_at: str


class CandidatePage(PageOut):
    items: list[CandidateOut]


class DismissIn(Schema):
    entity: str = Field(description="`accounts` or `contacts`")
    ids: list[int] = Field(min_length=1, description="Candidate ids")


class DismissOut(Schema):
    dismissed: int


class MergeIn(Schema):
    entity: str = Field(description="`accounts` or `contacts`")
    winner_id: int
    loser_ids: list[int] = Field(min_length=1)
    choices: dict[str, int] = Field(
        default_factory=dict,
        description="Field name (or `custom.<key>`) → id of the record whose value the winner keeps.",
    )


class MergeOut(Schema):
    winner_id: int
    merged_ids: list[int]


class ScanOut(Schema):
    id: int
    status: str
    queued: bool


def _entity(request, name: str) -> str:
    key = selectors.entity_key_for(name)
    if key is None:
        raise ValidationError({"entity": ["Use accounts or contacts."]})
    permissions.require(request.user, key, Action.EDIT)
    return key


def _out(c: DuplicateCandidate, access) -> dict:
    reasons = []
    for r in c.reasons:
        reason = dict(r)
        if reason.get("kind") in ("email", "phone", "website") and not access.can_see(reason["kind"]):
            reason.pop("value", None)
        reasons.append(reason)
    return {
        "id": c.pk,
        "entity": c.entity,
        "record_ids": c.record_ids,
        "group_id": c.group_id,
        "score": c.score,
        "reasons": reasons,
        "status": c.status,
        "found_at": c.found_at.isoformat(),
    }


@router.get("", response=CandidatePage, summary="List likely duplicates")
def list_candidates(
    request: HttpRequest,
    entity: str = "contacts",
    status: str = "open",
    cursor: str | None = None,
    limit: int = 50,
):
    """Pairs of records that look like the same customer, best first; both records are visible to the caller."""
    key = _entity(request, entity)
    if status not in DuplicateCandidate.Status.values:
        raise ValidationError({"status": [f"Use one of: {', '.join(DuplicateCandidate.Status.values)}."]})
    qs = selectors.candidates_for(request.user, key, status)
    access = permissions.field_access(request.user, key)
    return list_page(
        qs, sort="-score", allowed_sorts={"score"}, cursor=cursor, limit=limit, serialize=lambda c: _out(c, access)
    )


@router.post("/dismiss", response=DismissOut, summary="Mark pairs as not duplicates")
def dismiss(request: HttpRequest, payload: DismissIn):
    key = _entity(request, payload.entity)
    n = services.candidates_dismiss(actor=request.user, entity_key=key, candidate_ids=payload.ids)
    return {"dismissed": n}


@router.post("/merge", response=MergeOut, summary="Merge records into one")
def merge(request: HttpRequest, payload: MergeIn):
    """Merge `loser_ids` into `winner_id`; related records move to the winner, the losers are deleted.

    Needs edit on the winner and delete on every loser (else 404, as for records out of reach).
    """
    key = _entity(request, payload.entity)
    model = registry.entity(key).model
    if payload.winner_id in payload.loser_ids:
        raise ValidationError({"loser_ids": ["The winner cannot be merged into itself."]})
    winner = permissions.get_for(request.user, model._default_manager.all(), payload.winner_id, Action.EDIT)
    losers = [
        permissions.get_for(request.user, model._default_manager.all(), pk, Action.DELETE)
        for pk in dict.fromkeys(payload.loser_ids)
    ]
    winner = services.merge_records(
        actor=request.user, entity_key=key, winner=winner, losers=losers, choices=payload.choices
    )
    return {"winner_id": winner.pk, "merged_ids": [o.pk for o in losers]}


@router.post("/scan", response={202: ScanOut}, summary="Search for duplicates now")
def scan(request: HttpRequest):
    """Queue a duplicate search of the whole company (one at a time); it also runs every night."""
    if not selectors.reviewable_entities(request.user):
        raise PermissionDenied
    scan, queued = services.scan_request(actor=request.user)
    return Status(202, {"id": scan.pk, "status": scan.status, "queued": queued})
