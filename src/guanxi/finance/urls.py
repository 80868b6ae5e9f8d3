from django.urls import path

from . import views

app_name = "finance"

urlpatterns = [
    path("contracts/statistics/", views.contract_stats, name="contract_stats"),
    path("contracts/related/", views.related_contracts, name="related_contracts"),
    *views.contract_views.urls(),
    path("contracts/<int:pk>/milestones/", views.contract_milestones, name="contract_milestones"),
    path(
        "contracts/<int:pk>/milestones/<int:milestone_pk>/invoice/", views.milestone_invoice, name="milestone_invoice"
    ),
    path("contracts/<int:pk>/submit/", views.contract_submit, name="contract_submit"),
    path("contracts/<int:pk>/withdraw/", views.contract_withdraw, name="contract_withdraw"),
    path("contracts/<int:pk>/terminate/", views.contract_terminate, name="contract_terminate"),
    path("contracts/<int:pk>/renew/", views.contract_renew, name="contract_renew"),
    path("contracts/approvals/<int:pk>/decide/", views.contract_decide, name="contract_decide"),
    path("invoices/related/", views.related_invoices, name="related_invoices"),
    path("invoices/from-order/<int:pk>/", views.invoice_from_order, name="invoice_from_order"),
    *views.invoice_views.urls(),
    path("invoices/<int:pk>/lines/", views.invoice_lines, name="invoice_lines"),
    path("invoices/<int:pk>/lines/preview/", views.invoice_lines_preview, name="invoice_lines_preview"),
    path("invoices/<int:pk>/issue/", views.invoice_issue, name="invoice_issue"),
    path("invoices/<int:pk>/void/", views.invoice_void, name="invoice_void"),
    path("invoices/<int:pk>/pay/", views.invoice_pay, name="invoice_pay"),
    path("invoices/<int:pk>/pdf/", views.invoice_pdf, name="invoice_pdf"),
    *views.payment_views.urls(),
    path("commissions/accrue/", views.commissions_accrue, name="commissions_accrue"),
    path("commissions/statements/lock/", views.period_lock, name="period_lock"),
    *views.plan_views.urls(),
    path("commissions/plans/<int:pk>/rules/", views.plan_rules, name="commission_plan_rules"),
    *views.statement_views.urls(),
    path("commissions/statements/<int:pk>/approve/", views.statement_approve, name="commission_statement_approve"),
    path("commissions/statements/<int:pk>/reopen/", views.statement_reopen, name="commission_statement_reopen"),
    *views.entry_views.urls(),
    path("expenses/report/", views.expense_report, name="expense_report"),
    *views.expense_views.urls(),
    path("expenses/<int:pk>/submit/", views.expense_submit, name="expense_submit"),
    path("expenses/<int:pk>/withdraw/", views.expense_withdraw, name="expense_withdraw"),
    path("expenses/<int:pk>/decide/", views.expense_decide, name="expense_decide"),
    path("approvals/", views.approvals, name="approvals"),
    path("settings/", views.settings_view, name="settings"),
]
