from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

CONTRACT = "finance.contract"
INVOICE = "finance.invoice"
PAYMENT = "finance.payment"
PLAN = "finance.commission_plan"
ENTRY = "finance.commission_entry"
STATEMENT = "finance.commission_statement"
EXPENSE = "finance.expense"


def _sees_approvals(request) -> bool:
    from .selectors import approvals_visible_to

    return approvals_visible_to(request.user)


def _expense_files_changeable(user, expense) -> bool:
    return expense.is_editable


def _contract_files_changeable(user, contract) -> bool:
    return True  # signed copies are added while the contract runs too


class FinanceConfig(AppConfig):
    name = "guanxi.finance"
    label = "finance"
    verbose_name = _("Finance")

    def ready(self):
        from guanxi.attachments.services import register_attachable
        from guanxi.platform import navigation, registry
        from guanxi.platform.registry import Action

        from . import signals  # noqa: F401  (commissions follow won / reopened deals)
        from .models import CommissionEntry, CommissionPlan, CommissionStatement, Contract, Expense, Invoice, Payment

        records = (Action.VIEW, Action.CREATE, Action.EDIT, Action.DELETE, Action.EXPORT, Action.ASSIGN)
        registry.register(
            registry.Entity(
                key=CONTRACT,
                model=Contract,
                url_name="finance:contract",
                business_line_field="business_line",
                custom_fields=True,
                actions=records,
            )
        )
        registry.register(
            registry.Entity(
                key=INVOICE,
                model=Invoice,
                url_name="finance:invoice",
                business_line_field="business_line",
                custom_fields=True,
                actions=records,
            )
        )
        # A payment's owner is its invoice's owner; seeing the invoice lets you see its payments.
        registry.register(
            registry.Entity(
                key=PAYMENT,
                model=Payment,
                url_name="finance:payment",
                inherit_visibility=("invoice",),
                actions=(Action.VIEW, Action.CREATE, Action.EDIT, Action.DELETE, Action.EXPORT),
            )
        )
        # Plans have no owner: a role's "whole company" scope reads them; administrators manage them.
        registry.register(
            registry.Entity(
                key=PLAN,
                model=CommissionPlan,
                url_name="finance:commission_plan",
                owner_field=None,
                actions=(Action.VIEW, Action.CREATE, Action.EDIT, Action.DELETE, Action.EXPORT),
            )
        )
        # Entries and statements belong to their rep; "administer" on statements approves (locks) them.
        registry.register(
            registry.Entity(
                key=ENTRY,
                model=CommissionEntry,
                url_name="finance:commission_entry",
                owner_field="rep",
                actions=(Action.VIEW, Action.CREATE, Action.DELETE, Action.EXPORT),
            )
        )
        registry.register(
            registry.Entity(
                key=STATEMENT,
                model=CommissionStatement,
                url_name="finance:commission_statement",
                owner_field="rep",
                actions=(Action.VIEW, Action.CREATE, Action.DELETE, Action.EXPORT, Action.ADMINISTER),
            )
        )
        registry.register(
            registry.Entity(key=EXPENSE, model=Expense, url_name="finance:expense", custom_fields=True, actions=records)
        )
        register_attachable(CONTRACT, can_change=_contract_files_changeable)
        register_attachable(INVOICE)
        register_attachable(EXPENSE, can_change=_expense_files_changeable, label=_("Receipts"))
        registry.register_related_panel(
            "customers.account",
            registry.RelatedPanel(_("Contracts"), "finance:related_contracts", "account", module=CONTRACT, order=30),
        )
        registry.register_related_panel(
            "customers.account",
            registry.RelatedPanel(_("Invoices"), "finance:related_invoices", "account", module=INVOICE, order=31),
        )
        # Contracts "from a won opportunity or an order": the tab lists them and offers a new one.
        for parent in ("sales.opportunity", "commerce.order"):
            registry.register_related_panel(
                parent,
                registry.RelatedPanel(_("Contracts"), "finance:related_contracts", parent.split(".")[1],
                                      module=CONTRACT, order=30),
            )  # fmt: skip
        navigation.register(
            navigation.NavItem(_("Contracts"), "finance:contract_list", "file-earmark-ruled", section="sales",
                               module=CONTRACT, order=50),
            navigation.NavItem(_("Contract statistics"), "finance:contract_stats", "bar-chart-line", section="sales",
                               module=CONTRACT, order=51),
            navigation.NavItem(_("Invoices"), "finance:invoice_list", "receipt", section="sales", module=INVOICE,
                               order=52),
            navigation.NavItem(_("Payments"), "finance:payment_list", "cash-coin", section="sales", module=PAYMENT,
                               order=53),
            navigation.NavItem(_("Commissions"), "finance:commission_entry_list", "percent", section="sales",
                               module=ENTRY, order=54),
            navigation.NavItem(_("Commission statements"), "finance:commission_statement_list", "journal-text",
                               section="sales", module=STATEMENT, order=55),
            navigation.NavItem(_("Commission plans"), "finance:commission_plan_list", "diagram-3", section="sales",
                               module=PLAN, order=56),
            navigation.NavItem(_("Expenses"), "finance:expense_list", "wallet2", section="sales", module=EXPENSE,
                               order=57),
            navigation.NavItem(_("Expense report"), "finance:expense_report", "clipboard-data", section="sales",
                               module=EXPENSE, order=58),
            navigation.NavItem(_("Finance approvals"), "finance:approvals", "check2-square", section="sales", order=59,
                               visible=_sees_approvals),
            navigation.NavItem(_("Finance settings"), "finance:settings", "bank", section="admin", admin_only=True,
                               order=75),
        )  # fmt: skip
