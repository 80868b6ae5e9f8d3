from django.urls import path

from . import views

app_name = "activities"

urlpatterns = [
    path("today/", views.my_day, name="my_day"),
    # list/ · list/new/ · list/<pk>/ · list/<pk>/edit/ · list/<pk>/delete/ · list/bulk/ · list/views/
    *views.activity_views.urls(),
    path("list/<int:pk>/complete/", views.activity_complete, name="activity_complete"),
    path("list/<int:pk>/done/", views.activity_done, name="activity_done"),
    path("list/<int:pk>/cancel/", views.activity_cancel, name="activity_cancel"),
    path("list/<int:pk>/reschedule/", views.activity_reschedule, name="activity_reschedule"),
    path("lookup/<str:kind>/", views.lookup, name="lookup"),
    path("timeline/", views.timeline, name="timeline"),
    path("timeline/log/", views.timeline_log, name="timeline_log"),
    path("calendar/", views.calendar, name="calendar"),
    path("calendar/feed/", views.calendar_feed_manage, name="calendar_feed_manage"),
    path("calendar/feed/<str:secret>.ics", views.calendar_feed, name="calendar_feed"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/badge/", views.notification_badge, name="notification_badge"),
    path("notifications/read-all/", views.notifications_read_all, name="notifications_read_all"),
    path("notifications/<int:pk>/open/", views.notification_open, name="notification_open"),
    path("notifications/<int:pk>/read/", views.notification_read, name="notification_read"),
    path("plans/", views.plan_list, name="plan_list"),
    path("plans/new/", views.plan_edit, name="plan_create"),
    path("plans/apply/", views.apply_plan, name="apply_plan"),
    path("plans/<int:pk>/", views.plan_detail, name="plan_detail"),
    path("plans/<int:pk>/edit/", views.plan_edit, name="plan_edit"),
    path("plans/<int:pk>/delete/", views.plan_delete, name="plan_delete"),
    path("plans/<int:pk>/steps/new/", views.step_create, name="step_create"),
    path("plans/steps/<int:pk>/edit/", views.step_edit, name="step_edit"),
    path("plans/steps/<int:pk>/delete/", views.step_delete, name="step_delete"),
    path("plans/steps/<int:pk>/move/", views.step_move, name="step_move"),
]
