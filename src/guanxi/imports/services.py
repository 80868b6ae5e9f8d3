"""Writes of the import app: upload, mapping, preview, start, cancel, undo, saved mappings.

Views, the API and tasks call these. The heavy work runs in background tasks
(``imports.tasks``) through ``guanxi.imports.engine``.
"""

from __future__ import annotations

import json

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.access import permissions
from guanxi.audit import services as audit
from guanxi.audit.models import AuditAction
from guanxi.platform import context
from guanxi.platform.registry import Action

from . import engine, readers, specs
from . import transforms as t
from .models import ImportJob, SavedMapping

MAX_UPLOAD = 512 * 1024 * 1024
PREVIEW_MAX_ATTEMPTS = 3  # workers that may stall on one dry run before it is given up
Status = ImportJob.Status


def require_import(actor, entity_key: str) -> specs.ImportSpec:
    """The spec of ``entity_key`` if the actor may import into it (import and create), else 403."""
    spec = specs.get(entity_key)
    permissions.require(actor, entity_key, Action.IMPORT)
    permissions.require(actor, entity_key, Action.CREATE)
    return spec


def importable_specs(actor) -> list[specs.ImportSpec]:
    return [
        s
        for s in specs.all_specs()
        if permissions.has_action(actor, s.entity_key, Action.IMPORT)
        and permissions.has_action(actor, s.entity_key, Action.CREATE)
    ]


def _read_source(job: ImportJob) -> None:
    """Read the header of the job's file (with its current format settings) and guess a mapping."""
    try:
        with engine.open_job_source(job) as source:
            job.header = source.header
    except readers.FileProblem as exc:
        raise ValidationError({"file": str(exc)})
    spec = specs.get(job.entity)
    saved = SavedMapping.objects.filter(entity=job.entity).order_by("-created_at")
    norms = {t.norm(h) for h in job.header}
    match = next((m for m in saved if m.columns and set(m.columns) <= norms), None)
    job.mapping = specs.guess_mapping(job.header, spec.targets(), match.columns if match else None)
    if match is not None and match.options:
        job.options = {**job.options, **match.options}


@transaction.atomic
def job_create(*, actor, entity: str, upload, options: dict | None = None) -> ImportJob:
    """Store an uploaded file, detect its format, encoding and delimiter, read its header, guess a mapping."""
    spec = require_import(actor, entity)
    if upload is None:
        raise ValidationError({"file": _("Choose a file.")})
    if upload.size > MAX_UPLOAD:
        raise ValidationError({"file": _("Files up to 512 MB can be imported.")})
    upload.seek(0)
    try:
        info = readers.sniff(upload, upload.name)
    except readers.FileProblem as exc:
        raise ValidationError({"file": str(exc)})
    upload.seek(0)
    job = ImportJob(
        tenant=context.require_tenant(),
        entity=entity,
        original_name=(upload.name or "upload")[:255],
        size=upload.size,
        created_by=actor,
        options={**engine.default_options(spec), **(options or {})},
        **info,
    )
    job.file.save(upload.name or "upload", upload, save=False)
    _read_source(job)
    job.save()
    audit.record(AuditAction.IMPORT, job, note=_("File uploaded"))
    return job


def _editable(job: ImportJob) -> None:
    if job.status not in (Status.UPLOADED, Status.MAPPED, Status.PREVIEWED, Status.PREVIEWING):
        raise ValidationError(_("This import has started; its settings cannot change."))


@transaction.atomic
def job_set_format(*, actor, job: ImportJob, encoding: str = "", delimiter: str = "", sheet: str = "") -> ImportJob:
    """Read the file again with another encoding, delimiter or sheet (the mapping is guessed again)."""
    _editable(job)
    if job.format == "csv":
        if encoding and encoding not in dict(readers.ENCODINGS):
            raise ValidationError({"encoding": _("Unknown encoding.")})
        if delimiter and delimiter not in readers.DELIMITERS:
            raise ValidationError({"delimiter": _("Unknown delimiter.")})
        job.encoding = encoding or job.encoding
        job.delimiter = delimiter or job.delimiter
    elif job.format == "vcard" and encoding:
        job.encoding = encoding
    elif job.format == "xlsx" and sheet:
        job.sheet = sheet
    _read_source(job)
    job.status, job.preview, job.total_rows = Status.UPLOADED, {}, None
    job.save()
    return job


def _clean_options(spec: specs.ImportSpec, actor, options: dict) -> dict:
    options = {**engine.default_options(spec), **(options or {})}
    if options["policy"] not in engine.POLICIES:
        raise ValidationError({"policy": _("Choose skip, update or create.")})
    rules = options.get("rules") or []
    if isinstance(rules, str):
        rules = [r for r in rules.split(",") if r]
    known = {r.key for r in spec.rules}
    unknown = [r for r in rules if r not in known]
    if unknown:
        raise ValidationError({"rules": _("Unknown rule: %(rules)s") % {"rules": ", ".join(unknown)}})
    options["rules"] = [r.key for r in spec.rules if r in rules or r.key in rules]
    if options["policy"] == "update" and not permissions.has_action(actor, spec.entity_key, Action.EDIT):
        raise ValidationError({"policy": _("You may not edit existing records; choose skip or create.")})
    region = str(options.get("phone_region") or "").upper()
    if region and (len(region) != 2 or not region.isalpha()):
        raise ValidationError({"phone_region": _("Use a two-letter country code, e.g. CN.")})
    options["phone_region"] = region
    options["create_related"] = bool(options.get("create_related", True))
    options["day_first"] = bool(options.get("day_first", False))
    return {k: options[k] for k in ("policy", "rules", "create_related", "phone_region", "day_first")}


def clean_mapping(*, actor, job: ImportJob, mapping: dict) -> dict:
    """Check a {column index: target key} mapping; restricted fields refuse the whole job."""
    spec = specs.get(job.entity)
    targets = spec.target_map()
    clean: dict[str, str] = {}
    errors: list[str] = []
    used: dict[str, int] = {}
    for index, key in (mapping or {}).items():
        if not key:
            continue
        try:
            column = int(index)
        except (TypeError, ValueError):
            errors.append(_("“%(index)s” is not a column number.") % {"index": index})
            continue
        if not 0 <= column < len(job.header):
            errors.append(_("The file has no column %(n)s.") % {"n": column + 1})
            continue
        if key not in targets:
            errors.append(_("“%(key)s” is not a field of this record type.") % {"key": key})
            continue
        if key in used and not targets[key].multi:
            errors.append(
                _("“%(field)s” is mapped twice (columns “%(a)s” and “%(b)s”).")
                % {"field": targets[key].label, "a": job.header[used[key]], "b": job.header[column]}
            )
            continue
        used[key] = column
        clean[str(column)] = key
    access = permissions.field_access(actor, spec.entity_key)
    blocked = sorted(
        {
            str(targets[k].label)
            for k in clean.values()
            if any(not access.can_write(f) for f in targets[k].written_fields)
        }
    )
    if blocked:
        errors.append(
            _("You may not write these fields; unmap their columns: %(fields)s") % {"fields": ", ".join(blocked)}
        )
    for group in spec.required:
        if not any(k in clean.values() for k in group):
            labels = " / ".join(str(targets[k].label) for k in group if k in targets)
            errors.append(_("Map a column to %(fields)s.") % {"fields": labels})
    if errors:
        raise ValidationError({"mapping": errors})
    return clean


@transaction.atomic
def job_map(*, actor, job: ImportJob, mapping: dict, options: dict | None = None) -> ImportJob:
    """Confirm the column mapping and the options (de-duplication rules and policy)."""
    spec = require_import(actor, job.entity)
    _editable(job)
    job.mapping = clean_mapping(actor=actor, job=job, mapping=mapping)
    job.options = _clean_options(spec, actor, {**job.options, **(options or {})})
    job.status, job.preview, job.run_token = Status.MAPPED, {}, ""
    job.save()
    return job


def _enqueue(task, job: ImportJob) -> None:
    task.enqueue(job.tenant_id, job.pk)


def job_preview(*, actor, job: ImportJob) -> ImportJob:
    """Start the dry run (or run it again): every row checked, nothing written.

    The job gets a new run token (a dry run still going for an older token stops at its next
    chunk) and no heartbeat until a worker takes it (``preview_claim``).
    """
    from . import tasks

    require_import(actor, job.entity)
    if job.status not in (Status.MAPPED, Status.PREVIEWED, Status.PREVIEWING):
        raise ValidationError(_("Map the columns first."))
    token = engine.uuid.uuid4().hex
    job.status, job.preview, job.run_token = Status.PREVIEWING, {"processed": 0}, token
    job.heartbeat_at, job.preview_attempts = None, 0
    job.save(update_fields=["status", "preview", "run_token", "heartbeat_at", "preview_attempts"])
    tasks.preview_import.enqueue(job.tenant_id, job.pk, token)
    job.refresh_from_db()
    return job


def preview_claim(*, job: ImportJob, token: str) -> bool:
    """A worker takes the dry run queued under ``token``: False if it was superseded, cancelled or taken."""
    return bool(
        ImportJob.objects.filter(
            pk=job.pk, status=Status.PREVIEWING, run_token=token, heartbeat_at__isnull=True
        ).update(heartbeat_at=timezone.now(), preview_attempts=F("preview_attempts") + 1)
    )


def stale_previews():
    """Dry runs a worker took and stopped beating for (killed, crashed machine): ``engine.STALE_AFTER``."""
    return ImportJob.objects.filter(
        status=Status.PREVIEWING, heartbeat_at__lt=timezone.now() - engine.STALE_AFTER
    ).order_by("pk")


def previews_restart_stale() -> list[tuple[int, str]]:
    """Queue the stale dry runs again from the start (they write nothing): [(job id, new token)].

    A dry run that stalled ``PREVIEW_MAX_ATTEMPTS`` times is not restarted again: it goes back
    to "mapped" with a message, and the user may run the preview again. Each change is
    conditional on the token and heartbeat read, so two sweepers (or a late worker) cannot
    both win.
    """
    restarted = []
    for job in stale_previews().only("pk", "run_token", "heartbeat_at", "preview_attempts"):
        current = ImportJob.objects.filter(
            pk=job.pk, status=Status.PREVIEWING, run_token=job.run_token, heartbeat_at=job.heartbeat_at
        )
        if job.preview_attempts >= PREVIEW_MAX_ATTEMPTS:
            current.update(
                status=Status.MAPPED, run_token="", heartbeat_at=None, preview={"stalled": job.preview_attempts}
            )
            continue
        token = engine.uuid.uuid4().hex
        if current.update(run_token=token, heartbeat_at=None, preview={"processed": 0}):
            restarted.append((job.pk, token))
    return restarted


def job_start(*, actor, job: ImportJob) -> ImportJob:
    """Queue the import (or resume a failed one from its checkpoint)."""
    from . import tasks

    require_import(actor, job.entity)
    if job.status not in (Status.MAPPED, Status.PREVIEWED, Status.FAILED):
        raise ValidationError(_("This import cannot be started now."))
    if job.status == Status.FAILED and not job.mapping:
        raise ValidationError(_("Map the columns first."))
    if job.options.get("policy") == "update" and not permissions.has_action(actor, job.entity, Action.EDIT):
        raise PermissionDenied
    job.status, job.run_token = Status.QUEUED, ""
    job.save(update_fields=["status", "run_token"])
    audit.record(AuditAction.IMPORT, job, note=_("Import started"))
    _enqueue(tasks.run_import, job)
    job.refresh_from_db()
    return job


@transaction.atomic
def job_cancel(*, actor, job: ImportJob) -> ImportJob:
    """Stop a queued or running import after its current chunk (what was written stays; undo removes it)."""
    require_import(actor, job.entity)
    changed = ImportJob.objects.filter(pk=job.pk, status__in=[Status.QUEUED, Status.RUNNING, Status.PREVIEWING]).update(
        status=Status.CANCELLED, run_token="", finished_at=timezone.now()
    )
    if not changed:
        raise ValidationError(_("This import is not running."))
    job.refresh_from_db()
    audit.record(AuditAction.IMPORT, job, note=_("Import cancelled"))
    return job


def job_undo(*, actor, job: ImportJob) -> ImportJob:
    """Remove the records the import created and revert its updates (in the background)."""
    from . import tasks

    require_import(actor, job.entity)
    changed = ImportJob.objects.filter(
        pk=job.pk, status__in=[Status.DONE, Status.CANCELLED, Status.FAILED, Status.UNDOING]
    ).update(status=Status.UNDOING, heartbeat_at=timezone.now())
    if not changed:
        raise ValidationError(_("Only a finished, cancelled or failed import can be undone."))
    audit.record(AuditAction.IMPORT, job, note=_("Undo requested"))
    _enqueue(tasks.undo_import, job)
    job.refresh_from_db()
    return job


@transaction.atomic
def mapping_save(*, actor, job: ImportJob, name: str) -> SavedMapping:
    """Save the job's mapping by header names, to be applied to files with the same columns."""
    require_import(actor, job.entity)
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Give the mapping a name.")})
    columns = {t.norm(header): job.mapping.get(str(i), "") for i, header in enumerate(job.header)}
    saved, _created = SavedMapping.objects.update_or_create(
        entity=job.entity, name=name[:80], defaults={"columns": columns, "options": job.options, "created_by": actor}
    )
    audit.record(AuditAction.IMPORT, saved, note=_("Mapping saved"))
    return saved


def parse_json(text: str | None, field: str) -> dict:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        raise ValidationError({field: _("Send a JSON object.")})
    if not isinstance(value, dict):
        raise ValidationError({field: _("Send a JSON object.")})
    return value
