"""Duplicate review pages: the list of likely duplicates, "not duplicates", scans and the merge page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from guanxi.access import permissions
from guanxi.platform import registry
from guanxi.platform.registry import Action

from . import selectors, services
from .models import DuplicateCandidate


def _entity(request, source) -> str:
    allowed = selectors.reviewable_entities(request.user)
    if not allowed:
        raise PermissionDenied
    key = selectors.entity_key_for(source.get("entity")) if source.get("entity") else allowed[0]
    if key is None:
        raise Http404
    if key not in allowed:
        raise PermissionDenied
    return key


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _ids(values) -> list[int]:
    ids = []
    for value in values:
        for part in str(value).split(","):
            number = _int(part.strip())
            if number is not None:
                ids.append(number)
    return ids


@login_required
def duplicate_list(request):
    entity_key = _entity(request, request.GET)
    status = request.GET.get("status") or DuplicateCandidate.Status.OPEN
    if status not in DuplicateCandidate.Status.values or status == DuplicateCandidate.Status.MERGED:
        status = DuplicateCandidate.Status.OPEN
    page = _int(request.GET.get("page")) or 1
    data = selectors.candidate_groups(request.user, entity_key, status=status, page=page)
    entities = [(key, registry.entity(key).label_plural) for key in selectors.reviewable_entities(request.user)]
    return render(
        request,
        "dedupe/list.html",
        {
            **data,
            "entity_key": entity_key,
            "entity": registry.entity(entity_key),
            "entities": entities,
            "status": status,
            "scan": selectors.last_scan(),
            "merge_url": reverse("dedupe:merge"),
        },
    )


@login_required
@require_POST
def duplicate_dismiss(request):
    entity_key = _entity(request, request.POST)
    ids = _ids(request.POST.getlist("candidate"))
    if not ids:
        raise Http404
    n = services.candidates_dismiss(actor=request.user, entity_key=entity_key, candidate_ids=ids)
    messages.success(
        request,
        ngettext("%(n)s pair was marked as not duplicates.", "%(n)s pairs were marked as not duplicates.", n)
        % {"n": n},
    )
    return HttpResponseRedirect(reverse("dedupe:list") + "?" + urlencode({"entity": entity_key}))


@login_required
@require_POST
def duplicate_scan(request):
    _entity(request, {})
    _scan, queued = services.scan_request(actor=request.user)
    if queued:
        messages.success(request, _("The search for duplicates has started; refresh this page in a moment."))
    else:
        messages.info(request, _("A search for duplicates is already running."))
    back = request.POST.get("entity")
    query = "?" + urlencode({"entity": back}) if selectors.entity_key_for(back) else ""
    return HttpResponseRedirect(reverse("dedupe:list") + query)


@login_required
def merge(request):
    """Merge two or more records: side by side, one value per field, then ``merge_records``."""
    source = request.POST if request.method == "POST" else request.GET
    entity_key = _entity(request, source)
    records = selectors.merge_records_for(request.user, entity_key, _ids(source.getlist("ids")))
    by_id = {o.pk: o for o in records}
    winner = by_id.get(_int(source.get("winner"))) or min(records, key=lambda o: o.pk)
    entity = registry.entity(entity_key)
    can_merge = permissions.can(request.user, Action.EDIT, winner) and all(
        permissions.can(request.user, Action.DELETE, o) for o in records if o.pk != winner.pk
    )
    errors = {}
    if request.method == "POST":
        if not can_merge:
            raise Http404
        choices = {}
        for key, value in request.POST.items():
            if key.startswith("choice:"):
                choices[key[7:]] = _int(value)
        try:
            services.merge_records(
                actor=request.user,
                entity_key=entity_key,
                winner=winner,
                losers=[o for o in records if o.pk != winner.pk],
                choices=choices,
            )
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
        else:
            messages.success(
                request,
                ngettext(
                    "%(n)s record was merged into “%(name)s”.",
                    "%(n)s records were merged into “%(name)s”.",
                    len(records) - 1,
                )
                % {"n": len(records) - 1, "name": winner},
            )
            return HttpResponseRedirect(reverse(f"{entity.url_name}_detail", args=[winner.pk]))
    rows = selectors.merge_rows(request.user, entity_key, records, winner)
    for row in rows:
        row.errors = errors.get(row.name, [])
        picked = _int(request.POST.get(f"choice:{row.name}")) if request.method == "POST" else None
        if picked in by_id:  # keep what the user picked
            row.chosen = picked
    ids = ",".join(str(o.pk) for o in records)
    return render(
        request,
        "dedupe/merge.html",
        {
            "entity": entity,
            "entity_key": entity_key,
            "records": records,
            "winner": winner,
            "rows": rows,
            "ids": ids,
            "can_merge": can_merge,
            "errors": errors,
            "other_errors": [m for k, msgs in errors.items() if k not in {r.name for r in rows} for m in msgs],
            "columns": [
                {
                    "object": o,
                    "is_winner": o.pk == winner.pk,
                    "winner_url": reverse("dedupe:merge")
                    + "?"
                    + urlencode({"entity": entity_key, "ids": ids, "winner": o.pk}),
                    "detail_url": reverse(f"{entity.url_name}_detail", args=[o.pk]),
                }
                for o in records
            ],
            "list_url": reverse("dedupe:list") + "?" + urlencode({"entity": entity_key}),
        },
    )
