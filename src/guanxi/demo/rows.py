"""Model rows for demo and synthetic tenants, built in memory for ``bulk_create``.

Rows carry realistic timestamps (bulk-create them inside ``given_timestamps``). The denormalised
fields that services normally maintain are filled here too, so search and de-duplication work on
generated data: ``Contact.full_name`` (``compose_name``), one
``ContactPoint`` per e-mail address and phone number of accounts and contacts (values already
normalised: lower-case e-mail, E.164 phone), ``Contact.email`` / ``phone`` = the primary ones,
``Account.lifecycle_changed_at`` with its ``LifecycleChange`` history.
"""

from __future__ import annotations

import contextlib
import datetime

from guanxi.activities.models import Activity
from guanxi.customers.models import (
    Account,
    AccountContact,
    Contact,
    ContactPoint,
    LifecycleChange,
    LifecycleStage,
    compose_name,
)

from .generators import Company, DataGenerator, Person

# The order stages are normally reached in; an account at a stage went through the ones before it.
STAGE_PATHS = {
    LifecycleStage.PROSPECT: [LifecycleStage.PROSPECT],
    LifecycleStage.OPPORTUNITY: [LifecycleStage.PROSPECT, LifecycleStage.OPPORTUNITY],
    LifecycleStage.CUSTOMER: [LifecycleStage.PROSPECT, LifecycleStage.OPPORTUNITY, LifecycleStage.CUSTOMER],
    LifecycleStage.END_USER: [LifecycleStage.PROSPECT, LifecycleStage.END_USER],
    LifecycleStage.CHURNED: [
        LifecycleStage.PROSPECT,
        LifecycleStage.OPPORTUNITY,
        LifecycleStage.CUSTOMER,
        LifecycleStage.CHURNED,
    ],
}
ORG_STAGE_WEIGHTS = {"prospect": 30, "opportunity": 25, "customer": 35, "churned": 10}
CONSUMER_STAGE_WEIGHTS = {"prospect": 30, "customer": 15, "end_user": 50, "churned": 5}
SOURCES = ["web", "referral", "trade_show", "campaign", "cold_call", "partner", "social"]
CONSUMER_SOURCES = ["web", "social", "referral", "campaign"]
ADDRESS_FIELDS = ("country", "province", "city", "district", "street", "postal_code")
CONTACT_ROLES = ["decision_maker", "influencer", "buyer", "user", "technical", "finance"]


class RowFactory:
    """Builds unsaved model instances; the caller bulk-creates them inside the tenant context."""

    def __init__(self, gen: DataGenerator, *, now: datetime.datetime, tz):
        self.gen = gen
        self.r = gen.r
        self.now = now
        self.tz = tz

    def past(self, max_days: int, *, after: datetime.datetime | None = None) -> datetime.datetime:
        """A moment in office hours within the last ``max_days`` days (and after ``after``)."""
        start = self.now - datetime.timedelta(days=max_days)
        if after is not None and after > start:
            start = after
        span = max((self.now - start).days, 0)
        day = (start + datetime.timedelta(days=self.r.randint(0, span))).astimezone(self.tz).date()
        moment = self.gen.business_time(day, self.tz)
        if moment >= self.now:  # later today: take the day before
            moment -= datetime.timedelta(days=1)
        return min(max(moment, start), self.now - datetime.timedelta(minutes=5))

    # --- accounts ---------------------------------------------------------------------------

    def organisation(self, company: Company, *, owner, region=None, line=None, stage=None, created_at=None):
        """An organisation account and its points; returns (account, points, lifecycle changes)."""
        r = self.r
        stage = stage or r.choices(list(ORG_STAGE_WEIGHTS), list(ORG_STAGE_WEIGHTS.values()))[0]
        phone = self.gen.landline(company.city)
        email = f"{r.choice(['info', 'contact', 'sales', 'office', 'hello'])}@{company.domain}"
        account = Account(
            name=company.name,
            kind=Account.Kind.ORGANIZATION,
            industry=company.industry,
            size=company.size,
            annual_revenue=self._revenue(company.size),
            currency="CNY" if company.chinese else r.choice(["USD", "EUR", "SGD", "GBP"]),
            region=region,
            business_line=line,
            website=company.website,
            phone=phone,
            email=email,
            source=r.choice(SOURCES),
            rating=r.choices(["A", "B", "C", "D", ""], [2, 4, 5, 2, 3])[0],
            owner=owner,
            created_by=owner,
            created_at=created_at or self.past(720),
            lifecycle_stage=stage,
            **self.gen.address(company.city),
        )
        return account, self._account_points(account, email, phone), self._history(account)

    def consumer(self, person: Person, city, *, owner, region=None, line=None, stage=None, created_at=None):
        """An individual consumer account (and the contact standing for the person)."""
        r = self.r
        stage = stage or r.choices(list(CONSUMER_STAGE_WEIGHTS), list(CONSUMER_STAGE_WEIGHTS.values()))[0]
        phone = self.gen.mobile(city)
        email = self.gen.personal_email(person)
        account = Account(
            name=person.full_name,
            kind=Account.Kind.INDIVIDUAL,
            currency="CNY" if person.chinese else r.choice(["USD", "EUR", "SGD"]),
            region=region,
            business_line=line,
            phone=phone,
            email=email,
            source=r.choice(CONSUMER_SOURCES),
            owner=owner,
            created_by=owner,
            created_at=created_at or self.past(540),
            lifecycle_stage=stage,
            **self.gen.address(city),
        )
        return account, self._account_points(account, email, phone), self._history(account)

    def _revenue(self, size: str):
        from decimal import Decimal

        base = {"1-9": 2, "10-49": 20, "50-199": 80, "200-999": 400, "1000-4999": 2000, "5000+": 10000}[size]
        return Decimal(int(base * self.r.uniform(0.5, 2.0))) * 10000

    def _account_points(self, account: Account, email: str, phone: str) -> list[ContactPoint]:
        points = []
        if email:
            points.append(
                ContactPoint(account=account, kind=ContactPoint.Kind.EMAIL, value=email, label="work", is_primary=True)
            )
        if phone:
            points.append(
                ContactPoint(account=account, kind=ContactPoint.Kind.PHONE, value=phone, label="work", is_primary=True)
            )
        return points

    def _history(self, account: Account) -> list[LifecycleChange]:
        """The stages the account went through, spread over office days between its creation and now."""
        path = STAGE_PATHS[account.lifecycle_stage]
        start = account.created_at
        span_days = max((self.now - start).days - 1, 0)
        offsets = sorted(self.r.randint(1, span_days) for _ in path[1:]) if span_days else [0] * (len(path) - 1)
        moments = [start]
        for offset in offsets:
            day = (start + datetime.timedelta(days=offset)).astimezone(self.tz).date()
            moment = self.gen.business_time(day, self.tz)
            moments.append(min(max(moment, moments[-1] + datetime.timedelta(minutes=15)), self.now))
        account.lifecycle_changed_at = account.updated_at = moments[-1]
        changes = []
        previous = ""
        for stage, moment in zip(path, moments, strict=True):
            changes.append(
                LifecycleChange(
                    account=account, from_stage=previous, to_stage=stage, changed_at=moment, changed_by=account.owner
                )
            )
            previous = stage
        return changes

    # --- contacts ---------------------------------------------------------------------------

    def contact(
        self,
        person: Person,
        *,
        owner,
        account: Account | None = None,
        company: Company | None = None,
        city=None,
        created_at=None,
        custom=None,
        emails: list[tuple[str, str]] | None = None,
        phones: list[tuple[str, str]] | None = None,
    ):
        """A contact with one or two e-mail addresses and phones; returns (contact, points).

        ``emails`` / ``phones`` ((value, label) pairs) replace the generated ones when given.
        """
        r = self.r
        city = city or (company.city if company else None) or self.gen.chinese_city()
        given_emails, given_phones = emails, phones
        emails, phones = [], []
        if company is not None:
            emails.append((self.gen.work_email(person, company.domain), "work"))
            if r.random() < 0.15:
                emails.append((self.gen.personal_email(person), "home"))
            phones.append((self.gen.mobile(city), "mobile"))
            if r.random() < 0.5:
                phones.append((self.gen.landline(city), "work"))
            title, department = self.gen.job(person.chinese or company.chinese)
        else:
            if r.random() < 0.9:
                emails.append((self.gen.personal_email(person), "home"))
            phones.append((self.gen.mobile(city), "mobile"))
            title, department = "", ""
        if given_emails is not None:
            emails = [(v, lab) for v, lab in given_emails if v]
        if given_phones is not None:
            phones = [(v, lab) for v, lab in given_phones if v]
        emails = list(dict(emails).items())  # no duplicate values
        phones = list(dict(phones).items())
        salutation = "" if person.chinese and r.random() < 0.7 else ("ms" if person.female else "mr")
        contact = Contact(
            family_name=person.family,
            given_name=person.given,
            full_name=compose_name(person.family, person.given),
            salutation=salutation,
            title=title,
            department=department,
            account=account,
            email=emails[0][0] if emails else "",
            phone=phones[0][0] if phones else "",
            birthday=self._birthday() if r.random() < 0.3 else None,
            preferred_channel=r.choice(
                ["wechat", "wechat", "phone", "email"] if person.chinese else ["email", "phone"]
            ),
            consent_email=r.random() < 0.6,
            consent_sms=r.random() < 0.3,
            consent_phone=r.random() < 0.5,
            owner=owner,
            created_by=owner,
            created_at=created_at or self.past(700),
            custom=custom or {},
            **self._contact_address(account, company, city),
        )
        contact.updated_at = contact.created_at
        if contact.consent_email or contact.consent_sms or contact.consent_phone:
            contact.consent_updated_at = contact.created_at
        points = [
            ContactPoint(contact=contact, kind=ContactPoint.Kind.EMAIL, value=v, label=lab, is_primary=i == 0)
            for i, (v, lab) in enumerate(emails)
        ] + [
            ContactPoint(contact=contact, kind=ContactPoint.Kind.PHONE, value=v, label=lab, is_primary=i == 0)
            for i, (v, lab) in enumerate(phones)
        ]
        return contact, points

    def _contact_address(self, account: Account | None, company: Company | None, city) -> dict:
        """Consumers live where their account says; half of the other private people have an address."""
        if account is not None and account.kind == Account.Kind.INDIVIDUAL:
            return {f: getattr(account, f) for f in ADDRESS_FIELDS}
        if company is None and self.r.random() < 0.5:
            return self.gen.address(city)
        return {}

    def _birthday(self) -> datetime.date:
        return datetime.date(self.r.randint(1962, 2002), self.r.randint(1, 12), self.r.randint(1, 28))

    def link(self, account: Account, contact: Contact, role: str | None = None) -> AccountContact:
        return AccountContact(account=account, contact=contact, role=role or self.r.choice(CONTACT_ROLES))

    # --- activities -------------------------------------------------------------------------

    def activity(
        self,
        *,
        kind: str,
        owner,
        chinese: bool,
        account: Account | None = None,
        contact: Contact | None = None,
        starts_at: datetime.datetime,
        status: str | None = None,
    ) -> Activity:
        """An activity at ``starts_at``; past ones are mostly done, future ones planned."""
        r = self.r
        past = starts_at < self.now
        if status is None:
            if not past:
                status = Activity.Status.PLANNED
            elif kind == "task":
                status = r.choices(["done", "planned", "cancelled"], [85, 10, 5])[0]
            elif kind in ("call", "meeting"):
                status = r.choices(["done", "cancelled"], [93, 7])[0]
            else:
                status = Activity.Status.DONE
        text = self.gen.activity_text(
            kind, chinese, account=account.name if account else "", contact=contact.full_name if contact else ""
        )
        activity = Activity(
            kind=kind,
            owner=owner,
            created_by=owner,
            account=account,
            contact=contact,
            status=status,
            starts_at=starts_at,
            priority=r.choices(["normal", "high", "low"], [75, 20, 5])[0] if kind == "task" else "normal",
            created_at=min(starts_at, self.now) - datetime.timedelta(days=r.randint(0, 5)),
            **text,
        )
        if kind == "meeting":
            activity.ends_at = starts_at + datetime.timedelta(minutes=r.choice([30, 60, 60, 90, 120]))
        elif kind == "call":
            activity.direction = r.choices(["outbound", "inbound"], [75, 25])[0]
            activity.ends_at = starts_at + datetime.timedelta(minutes=r.choice([5, 10, 15, 20, 30]))
            if status == Activity.Status.DONE:
                activity.outcome = r.choice(
                    ["connected", "connected", "interested", "follow_up", "no_answer", "left_message"]
                )
        elif kind == "email":
            activity.direction = r.choices(["outbound", "inbound"], [70, 30])[0]
        if status == Activity.Status.DONE and kind == "task":
            activity.completed_at = min(starts_at + datetime.timedelta(hours=r.randint(-48, 24)), self.now)
        activity.updated_at = activity.completed_at or (
            starts_at if past and status != "planned" else activity.created_at
        )
        if kind in ("task", "meeting") and status == Activity.Status.PLANNED and r.random() < 0.6:
            activity.reminder_at = starts_at - datetime.timedelta(minutes=r.choice([15, 30, 60]))
            if activity.reminder_at < self.now:
                activity.reminded_at = activity.reminder_at  # no flood of stale reminders on first start
        return activity


@contextlib.contextmanager
def given_timestamps(*models):
    """Let ``bulk_create`` keep the ``updated_at`` the rows were built with.

    ``auto_now`` would stamp every generated row with the moment of loading; for the duration
    of the block it is switched off on these models (this process only, a loading command).
    """
    fields = [model._meta.get_field("updated_at") for model in models]
    saved = [field.auto_now for field in fields]
    for field in fields:
        field.auto_now = False
    try:
        yield
    finally:
        for field, value in zip(fields, saved, strict=True):
            field.auto_now = value
