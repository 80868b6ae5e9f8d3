from django.urls import path

from . import views, views_admin, views_public, views_reports

app_name = "sales"

urlpatterns = [
    # Pages of the records (list, detail, new, edit, delete, bulk, saved views, export).
    *views.lead_views.urls(),
    *views.opportunity_views.urls(),
    *views.competitor_views.urls(),
    # Lead actions.
    path("leads/<int:pk>/status/", views.lead_status, name="lead_status"),
    path("leads/<int:pk>/convert/", views.lead_convert, name="lead_convert"),
    # Opportunity actions.
    path("opportunities/<int:pk>/stage/", views.opportunity_stage, name="opportunity_stage"),
    path("opportunities/<int:pk>/move/", views_reports.opportunity_move, name="opportunity_move"),
    path("opportunities/<int:pk>/won/", views.opportunity_won, name="opportunity_won"),
    path("opportunities/<int:pk>/lost/", views.opportunity_lost, name="opportunity_lost"),
    path("opportunities/<int:pk>/lines/", views.opportunity_line_add, name="opportunity_line_add"),
    path("opportunities/<int:pk>/lines/<int:line_pk>/", views.opportunity_line_edit, name="opportunity_line_edit"),
    path(
        "opportunities/<int:pk>/lines/<int:line_pk>/delete/",
        views.opportunity_line_delete,
        name="opportunity_line_delete",
    ),
    path("opportunities/<int:pk>/competitors/", views.opportunity_competitor_add, name="opportunity_competitor_add"),
    path(
        "opportunities/<int:pk>/competitors/<int:link_pk>/remove/",
        views.opportunity_competitor_remove,
        name="opportunity_competitor_remove",
    ),
    # Competitors.
    path("competitors/<int:pk>/products/", views.competing_product_add, name="competing_product_add"),
    path(
        "competitors/<int:pk>/products/<int:product_pk>/", views.competing_product_edit, name="competing_product_edit"
    ),
    path(
        "competitors/<int:pk>/products/<int:product_pk>/delete/",
        views.competing_product_delete,
        name="competing_product_delete",
    ),
    path("competitors/win-loss/", views_reports.competitor_analysis, name="competitor_analysis"),
    # Board and dashboard.
    path("board/", views_reports.board, name="board"),
    path("dashboard/", views_reports.dashboard, name="dashboard"),
    # Administration.
    path("settings/pipelines/", views_admin.pipeline_list, name="pipeline_list"),
    path("settings/pipelines/new/", views_admin.pipeline_create, name="pipeline_create"),
    path("settings/pipelines/<int:pk>/", views_admin.pipeline_edit, name="pipeline_edit"),
    path("settings/pipelines/<int:pk>/delete/", views_admin.pipeline_delete, name="pipeline_delete"),
    path("settings/pipelines/<int:pk>/stages/", views_admin.stage_create, name="stage_create"),
    path("settings/stages/<int:pk>/", views_admin.stage_edit, name="stage_edit"),
    path("settings/stages/<int:pk>/move/", views_admin.stage_move, name="stage_move"),
    path("settings/stages/<int:pk>/delete/", views_admin.stage_delete, name="stage_delete"),
    path("settings/scoring/", views_admin.scoring_rule_list, name="scoring_rule_list"),
    path("settings/scoring/new/", views_admin.scoring_rule_create, name="scoring_rule_create"),
    path("settings/scoring/suggested/", views_admin.scoring_rules_suggested, name="scoring_rules_suggested"),
    path("settings/scoring/rescore/", views_admin.scoring_rescore, name="scoring_rescore"),
    path("settings/scoring/<int:pk>/", views_admin.scoring_rule_edit, name="scoring_rule_edit"),
    path("settings/scoring/<int:pk>/delete/", views_admin.scoring_rule_delete, name="scoring_rule_delete"),
    path("settings/assignment/", views_admin.assignment_rule_list, name="assignment_rule_list"),
    path("settings/assignment/new/", views_admin.assignment_rule_create, name="assignment_rule_create"),
    path("settings/assignment/<int:pk>/", views_admin.assignment_rule_edit, name="assignment_rule_edit"),
    path("settings/assignment/<int:pk>/move/", views_admin.assignment_rule_move, name="assignment_rule_move"),
    path("settings/assignment/<int:pk>/delete/", views_admin.assignment_rule_delete, name="assignment_rule_delete"),
    path("settings/web-forms/", views_admin.webform_list, name="webform_list"),
    path("settings/web-forms/new/", views_admin.webform_create, name="webform_create"),
    path("settings/web-forms/<int:pk>/", views_admin.webform_edit, name="webform_edit"),
    path("settings/web-forms/<int:pk>/new-key/", views_admin.webform_new_key, name="webform_new_key"),
    path("settings/web-forms/<int:pk>/delete/", views_admin.webform_delete, name="webform_delete"),
    # The public web-to-lead page (no sign-in; embeddable).
    path("w2l/<str:key>/", views_public.web_to_lead, name="web_to_lead"),
    path("related/opportunities/", views.related_opportunities, name="related_opportunities"),
]
