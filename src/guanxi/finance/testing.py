"""Test helpers: one of every finance record, built through the services (call inside a tenant context)."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64

# url name / API path pattern → parameters from tenant A's finance records (used by the cross-tenant walker,
# whose objects hold them under "finance").
FINANCE_UI_PARAMS = [
    (r"^finance:milestone_invoice$", lambda o: {"pk": o["finance"]["contract"].pk, "milestone_pk": o["finance"]["milestone"].pk}),
    (r"^finance:contract_decide$", lambda o: {"pk": o["finance"]["approval"].pk}),
    (r"^finance:contract_", lambda o: {"pk": o["finance"]["contract"].pk}),
    (r"^finance:invoice_from_order$", lambda o: {"pk": o["finance"]["order"].pk}),
    (r"^finance:invoice_", lambda o: {"pk": o["finance"]["invoice"].pk}),
    (r"^finance:payment_", lambda o: {"pk": o["finance"]["payment"].pk}),
    (r"^finance:commission_plan_", lambda o: {"pk": o["finance"]["plan"].pk}),
    (r"^finance:commission_statement_", lambda o: {"pk": o["finance"]["statement"].pk}),
    (r"^finance:commission_entry_", lambda o: {"pk": o["finance"]["entry"].pk}),
    (r"^finance:expense_", lambda o: {"pk": o["finance"]["expense"].pk}),
    (r"^attachments:", lambda o: {"pk": o["finance"]["attachment"].pk}),
]  # fmt: skip
FINANCE_API_PARAMS = [
    (r"^api/v1/contracts/", lambda o: {"pk": o["finance"]["contract"].pk, "milestone_id": o["finance"]["milestone"].pk,
                                       "attachment_id": o["finance"]["attachment"].pk}),
    (r"^api/v1/invoices/", lambda o: {"pk": o["finance"]["invoice"].pk, "attachment_id": o["finance"]["attachment"].pk}),
    (r"^api/v1/payments/", lambda o: {"pk": o["finance"]["payment"].pk}),
    (r"^api/v1/commission-plans/", lambda o: {"pk": o["finance"]["plan"].pk}),
    (r"^api/v1/commissions/statements/", lambda o: {"pk": o["finance"]["statement"].pk}),
    (r"^api/v1/commissions/", lambda o: {"pk": o["finance"]["entry"].pk}),
    (r"^api/v1/expenses/", lambda o: {"pk": o["finance"]["expense"].pk, "attachment_id": o["finance"]["attachment"].pk}),
]  # fmt: skip
# POST bodies that pass validation, so the answer depends on the id alone.
FINANCE_API_BODIES = {
    "api:contract_submit": lambda o: {"message": "x"},
    "api:contract_decide": lambda o: {"decision": "approve"},
    "api:contract_terminate": lambda o: {"reason": "x"},
    "api:invoice_void": lambda o: {"reason": "x"},
    "api:invoice_issue": lambda o: {},
    "api:expense_decide": lambda o: {"decision": "approve"},
}


def make_finance_records(actor, marker: str = "") -> dict:
    """A contract (with a milestone, a pending approval and a file), an issued invoice with a payment, a
    commission plan with an accrued entry and a statement, an order, and an expense with a receipt."""
    from guanxi.attachments.services import attachment_upload
    from guanxi.commerce import services as commerce_services
    from guanxi.customers import services as customer_services

    from . import commission_services, services
    from .models import CommissionStatement, ContractApproval

    suffix = f" {marker}" if marker else ""
    today = datetime.date.today()
    account = customer_services.account_create(actor=actor, data={"name": f"Finance account{suffix}"})
    plan = commission_services.plan_create(
        actor=actor, data={"name": f"Plan{suffix}", "basis": "payment", "default_rate": Decimal("5"), "currency": "CNY"}
    )
    contract = services.contract_create(
        actor=actor,
        data={"title": f"Contract{suffix}", "account": account, "value": Decimal("10000"),
              "start_date": today, "end_date": today + datetime.timedelta(days=364)},
        milestones=[{"due_date": today, "description": f"Milestone{suffix}", "percent": "50"}],
    )  # fmt: skip
    milestone = contract.milestones.get()
    attachment = attachment_upload(
        actor=actor, obj=contract, file=SimpleUploadedFile(f"scan{marker}.png", PNG, content_type="image/png")
    )
    services.contract_submit(actor=actor, contract=contract, message=f"Please{suffix}")
    approval = ContractApproval.objects.get(contract=contract)
    invoice = services.invoice_create(
        actor=actor,
        data={"account": account, "title": f"Invoice{suffix}"},
        lines=[{"description": f"Service{suffix}", "quantity": "2", "unit_price": "500", "tax_rate": "6"}],
    )
    invoice = services.invoice_issue(actor=actor, invoice=invoice)
    payment = services.payment_create(
        actor=actor, data={"invoice": invoice, "amount": Decimal("100"), "reference": marker}
    )
    entry = payment.commission_entries.order_by("pk").first()
    start, end = commission_services.period_bounds(today, "month")
    statement = CommissionStatement.objects.filter(
        rep=actor, period_start=start, period_end=end, currency="CNY"
    ).first()
    if statement is None:
        statement = commission_services.statement_create(actor=actor, data={"rep": actor, "period_start": today})
    order = commerce_services.order_create(
        actor=actor,
        data={"account": account},
        lines=[{"description": f"Order line{suffix}", "quantity": "1", "unit_price": "10"}],
    )
    expense = services.expense_create(
        actor=actor, data={"description": f"Taxi{suffix}", "amount": Decimal("88.50"), "category": "transport",
                           "account": account}
    )  # fmt: skip
    attachment_upload(actor=actor, obj=expense, file=SimpleUploadedFile("receipt.png", PNG, content_type="image/png"))
    return {
        "account": account,
        "plan": plan,
        "contract": contract,
        "milestone": milestone,
        "approval": approval,
        "attachment": attachment,
        "invoice": invoice,
        "payment": payment,
        "entry": entry,
        "statement": statement,
        "order": order,
        "expense": expense,
    }
