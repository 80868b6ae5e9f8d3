"""Writes to accounts and contacts. Interface code (views, API, imports, tasks) calls these."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.access import permissions
from guanxi.audit import services as audit
from guanxi.audit.models import AuditAction
from guanxi.platform import crud
from guanxi.platform.phones import normalize_phone
from guanxi.platform.registry import Action

from .models import Account, AccountContact, Contact, ContactPoint, LifecycleChange

ACCOUNT = "customers.account"
CONTACT = "customers.contact"


# --- accounts ---------------------------------------------------------------------------------


def _normalise_account_data(data: dict) -> dict:
    data = dict(data)
    if data.get("phone"):
        try:
            data["phone"] = normalize_phone(data["phone"])
        except ValidationError as exc:
            raise ValidationError({"phone": exc.messages})
    if data.get("email"):
        data["email"] = data["email"].strip().lower()
    return data


@transaction.atomic
def account_create(*, actor, data: dict, tags: Iterable | None = None) -> Account:
    """Create an account; its lifecycle history starts with its first stage."""
    data = _normalise_account_data(data)
    if tags is not None:
        data["tags"] = list(tags)
    account = crud.record_create(entity_key=ACCOUNT, actor=actor, data=data)
    LifecycleChange.objects.create(
        account=account,
        from_stage="",
        to_stage=account.lifecycle_stage,
        changed_at=account.lifecycle_changed_at,
        changed_by=actor,
    )
    _sync_points(owner=account, email=account.email, phone=account.phone)
    return account


@transaction.atomic
def account_update(*, actor, account: Account, data: dict, tags: Iterable | None = None) -> Account:
    """Change an account; a lifecycle stage change is recorded with its date."""
    data = _normalise_account_data(data)
    if tags is not None:
        data["tags"] = list(tags)
    old_stage = account.lifecycle_stage
    if data.get("lifecycle_stage") and data["lifecycle_stage"] != old_stage:
        data["lifecycle_changed_at"] = timezone.now()
    if data.get("parent") is not None and _is_descendant(account, data["parent"]):
        raise ValidationError({"parent": _("An account cannot be its own parent or a parent of its parent.")})
    account, changes = crud.record_update(entity_key=ACCOUNT, actor=actor, instance=account, data=data)
    if "lifecycle_stage" in changes:
        LifecycleChange.objects.create(
            account=account,
            from_stage=old_stage,
            to_stage=account.lifecycle_stage,
            changed_at=account.lifecycle_changed_at,
            changed_by=actor,
        )
    if "email" in changes or "phone" in changes:
        _sync_points(owner=account, email=account.email, phone=account.phone)
    return account


def _is_descendant(account: Account, parent) -> bool:
    parent_id = getattr(parent, "pk", parent)
    seen = set()
    while parent_id and parent_id not in seen:
        if parent_id == account.pk:
            return True
        seen.add(parent_id)
        parent_id = Account.objects.filter(pk=parent_id).values_list("parent_id", flat=True).first()
    return False


@transaction.atomic
def account_delete(*, actor, account: Account) -> None:
    crud.record_delete(entity_key=ACCOUNT, actor=actor, instance=account)


@transaction.atomic
def account_change_stage(*, actor, account: Account, stage: str) -> Account:
    return account_update(actor=actor, account=account, data={"lifecycle_stage": stage})


# --- contacts ---------------------------------------------------------------------------------


def _clean_points(emails: Iterable, phones: Iterable) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Normalise (value, label) pairs; errors keyed emails / phones with the bad value named."""
    clean_emails, clean_phones, errors = [], [], {}
    for value, label in emails:
        value = (value or "").strip().lower()
        if not value:
            continue
        try:
            validate_email(value)
        except ValidationError:
            errors.setdefault("emails", []).append(_("“%(value)s” is not an email address.") % {"value": value})
            continue
        if value not in [e for e, _l in clean_emails]:
            clean_emails.append((value, label or ContactPoint.Label.WORK))
    for value, label in phones:
        if not (value or "").strip():
            continue
        try:
            number = normalize_phone(value)
        except ValidationError as exc:
            errors.setdefault("phones", []).extend(exc.messages)
            continue
        if number not in [p for p, _l in clean_phones]:
            clean_phones.append((number, label or ContactPoint.Label.MOBILE))
    if errors:
        raise ValidationError(errors)
    return clean_emails, clean_phones


def _sync_points(*, owner, email: str = "", phone: str = "", emails=None, phones=None) -> None:
    """Keep the ContactPoint rows (used by search and de-duplication) in line with the record."""
    key = "account" if isinstance(owner, Account) else "contact"
    if emails is None:
        emails = [(email, ContactPoint.Label.WORK)] if email else []
    if phones is None:
        phones = [(phone, ContactPoint.Label.WORK)] if phone else []
    ContactPoint.objects.filter(**{key: owner}).delete()
    rows = [
        ContactPoint(**{key: owner}, kind=ContactPoint.Kind.EMAIL, value=v, label=lab, is_primary=i == 0)
        for i, (v, lab) in enumerate(emails)
    ] + [
        ContactPoint(**{key: owner}, kind=ContactPoint.Kind.PHONE, value=v, label=lab, is_primary=i == 0)
        for i, (v, lab) in enumerate(phones)
    ]
    ContactPoint.objects.bulk_create(rows)


def _contact_data(data: dict) -> tuple[dict, list | None, list | None]:
    data = dict(data)
    emails = data.pop("emails", None)
    phones = data.pop("phones", None)
    if emails is None and "email" in data:
        emails = [(data["email"], ContactPoint.Label.WORK)] if data["email"] else []
    if phones is None and "phone" in data:
        phones = [(data["phone"], ContactPoint.Label.MOBILE)] if data["phone"] else []
    if emails is not None or phones is not None:
        clean_emails, clean_phones = _clean_points(emails or [], phones or [])
        if emails is not None:
            data["email"] = clean_emails[0][0] if clean_emails else ""
            emails = clean_emails
        if phones is not None:
            data["phone"] = clean_phones[0][0] if clean_phones else ""
            phones = clean_phones
    if (
        not (data.get("family_name") or "").strip()
        and not (data.get("given_name") or "").strip()
        and ("family_name" in data or "given_name" in data)
    ):
        raise ValidationError({"family_name": _("Give at least a family name or a given name.")})
    if any(k in data for k in ("consent_email", "consent_sms", "consent_phone", "consent_mail")):
        data["_consent_touched"] = True
    return data, emails, phones


@transaction.atomic
def contact_create(*, actor, data: dict, tags: Iterable | None = None) -> Contact:
    """Create a contact. ``data`` may carry ``emails`` / ``phones`` as lists of (value, label) pairs."""
    data, emails, phones = _contact_data(data)
    if "family_name" not in data and "given_name" not in data:
        raise ValidationError({"family_name": _("Give at least a family name or a given name.")})
    consent_touched = data.pop("_consent_touched", False)
    if tags is not None:
        data["tags"] = list(tags)
    contact = crud.record_create(entity_key=CONTACT, actor=actor, data=data)
    if consent_touched:
        Contact.objects.filter(pk=contact.pk).update(consent_updated_at=timezone.now())
    _sync_points(owner=contact, emails=emails or [], phones=phones or [])
    if contact.account_id:
        AccountContact.objects.get_or_create(account_id=contact.account_id, contact=contact)
    return contact


@transaction.atomic
def contact_update(*, actor, contact: Contact, data: dict, tags: Iterable | None = None) -> Contact:
    data, emails, phones = _contact_data(data)
    consent_touched = data.pop("_consent_touched", False)
    if tags is not None:
        data["tags"] = list(tags)
    before_points = sorted(contact.points.values_list("kind", "value", "label"))
    contact, changes = crud.record_update(entity_key=CONTACT, actor=actor, instance=contact, data=data)
    if consent_touched and any(k.startswith("consent_") for k in changes):
        contact.consent_updated_at = timezone.now()
        Contact.objects.filter(pk=contact.pk).update(consent_updated_at=contact.consent_updated_at)
    if emails is not None or phones is not None:
        current = {
            k: [(v, lab) for kind, v, lab in before_points if kind == k]
            for k in (ContactPoint.Kind.EMAIL, ContactPoint.Kind.PHONE)
        }
        new_emails = emails if emails is not None else current[ContactPoint.Kind.EMAIL]
        new_phones = phones if phones is not None else current[ContactPoint.Kind.PHONE]
        _sync_points(owner=contact, emails=new_emails, phones=new_phones)
        after_points = sorted(contact.points.values_list("kind", "value", "label"))
        if after_points != before_points:
            audit.record(
                AuditAction.UPDATE,
                contact,
                changes={"emails and phones": [[p[1] for p in before_points], [p[1] for p in after_points]]},
            )
    if "account" in changes and contact.account_id:
        AccountContact.objects.get_or_create(account_id=contact.account_id, contact=contact)
    return contact


@transaction.atomic
def contact_delete(*, actor, contact: Contact) -> None:
    crud.record_delete(entity_key=CONTACT, actor=actor, instance=contact)


@transaction.atomic
def contact_link_account(
    *, actor, contact: Contact, account: Account, role: str = "", note: str = ""
) -> AccountContact:
    """Link a contact to (another) account with a role there; both must be editable / visible."""
    permissions.require_can(actor, Action.EDIT, contact)
    permissions.require_can(actor, Action.VIEW, account)
    link, created = AccountContact.objects.get_or_create(
        account=account, contact=contact, defaults={"role": role, "note": note}
    )
    if not created and (link.role != role or link.note != note):
        link.role, link.note = role, note
        link.save(update_fields=["role", "note"])
    audit.record(AuditAction.UPDATE, contact, changes={"accounts": [None, f"{account} ({link.get_role_display()})"]})
    return link


@transaction.atomic
def contact_unlink_account(*, actor, link: AccountContact) -> None:
    permissions.require_can(actor, Action.EDIT, link.contact)
    audit.record(AuditAction.UPDATE, link.contact, changes={"accounts": [str(link.account), None]})
    if link.contact.account_id == link.account_id:
        Contact.objects.filter(pk=link.contact_id).update(account=None)
    link.delete()


# --- public helpers for bulk writers (guanxi.customers.bulk: imports) ---------------------------


def clean_contact_points(emails: Iterable, phones: Iterable) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The validation and normalisation of a contact's (value, label) emails and phones."""
    return _clean_points(emails, phones)
