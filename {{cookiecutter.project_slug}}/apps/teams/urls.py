from django.urls import path

from . import views

app_name = "teams"

urlpatterns = [
    path("a/", views.home, name="home"),
    path("a/<slug:team_slug>/", views.dashboard, name="dashboard"),
    path("a/<slug:team_slug>/settings/", views.team_settings, name="settings"),
    path("a/<slug:team_slug>/settings/invite/", views.invite, name="invite"),
    path(
        "a/<slug:team_slug>/settings/invitations/<int:invitation_id>/cancel/",
        views.cancel_invitation,
        name="cancel_invitation",
    ),
    path(
        "a/<slug:team_slug>/settings/members/<int:membership_id>/role/",
        views.change_member_role,
        name="change_role",
    ),
    path(
        "a/<slug:team_slug>/settings/members/<int:membership_id>/remove/",
        views.remove_team_member,
        name="remove_member",
    ),
    path("invitations/<str:token>/", views.accept, name="accept_invitation"),
]
