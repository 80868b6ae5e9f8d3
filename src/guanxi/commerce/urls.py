from django.urls import path

from . import views

app_name = "commerce"

urlpatterns = [
    path("products/options/", views.product_options, name="product_options"),
    path("opportunities/options/", views.opportunity_options, name="opportunity_options"),
    path("quotes/related/", views.related_quotes, name="related_quotes"),
    path("orders/related/", views.related_orders, name="related_orders"),
    *views.product_views.urls(),
    *views.price_book_views.urls(),
    path("price-books/<int:pk>/entries/", views.price_book_entry_save, name="price_book_entry_add"),
    path("price-books/<int:pk>/entries/<int:entry_pk>/", views.price_book_entry_save, name="price_book_entry_edit"),
    path(
        "price-books/<int:pk>/entries/<int:entry_pk>/delete/",
        views.price_book_entry_delete,
        name="price_book_entry_delete",
    ),
    *views.quote_views.urls(),
    path("quotes/<int:pk>/lines/", views.quote_lines, name="quote_lines"),
    path("quotes/<int:pk>/lines/preview/", views.quote_lines_preview, name="quote_lines_preview"),
    path("quotes/<int:pk>/pdf/", views.quote_pdf, name="quote_pdf"),
    path("quotes/<int:pk>/send/", views.quote_send, name="quote_send"),
    path("quotes/<int:pk>/approval/", views.quote_request_approval, name="quote_request_approval"),
    path("quotes/<int:pk>/approval/withdraw/", views.quote_withdraw_approval, name="quote_withdraw_approval"),
    path("quotes/<int:pk>/accept/", views.quote_accept, name="quote_accept"),
    path("quotes/<int:pk>/reject/", views.quote_reject, name="quote_reject"),
    path("quotes/<int:pk>/revise/", views.quote_revise, name="quote_revise"),
    path("approvals/", views.approval_inbox, name="approval_inbox"),
    path("approvals/<int:pk>/decide/", views.approval_decide, name="approval_decide"),
    *views.order_views.urls(),
    path("orders/<int:pk>/lines/", views.order_lines, name="order_lines"),
    path("orders/<int:pk>/lines/preview/", views.order_lines_preview, name="order_lines_preview"),
    path("orders/<int:pk>/transition/", views.order_transition, name="order_transition"),
    path("settings/", views.settings_view, name="settings"),
    path("settings/categories/new/", views.category_edit, name="category_create"),
    path("settings/categories/<int:pk>/", views.category_edit, name="category_edit"),
    path("settings/categories/<int:pk>/delete/", views.category_delete, name="category_delete"),
    path("settings/tax-classes/new/", views.tax_class_edit, name="tax_class_create"),
    path("settings/tax-classes/<int:pk>/", views.tax_class_edit, name="tax_class_edit"),
    path("settings/tax-classes/<int:pk>/delete/", views.tax_class_delete, name="tax_class_delete"),
]
