from django.conf import settings
from django.db import migrations, models
from django.utils import timezone


def revoke_all_but_the_newest_open_invitation(apps, schema_editor):
    """Before the one-open-invitation-per-address rule: older duplicates are withdrawn."""
    Invitation = apps.get_model("teams", "Invitation")
    open_invitations = Invitation.objects.filter(
        accepted_at__isnull=True, revoked_at__isnull=True
    ).order_by("team_id", "email", "-created_at", "-pk")
    seen, older = set(), []
    for pk, team_id, email in open_invitations.values_list("pk", "team_id", "email"):
        if (team_id, email) in seen:
            older.append(pk)
        seen.add((team_id, email))
    Invitation.objects.filter(pk__in=older).update(revoked_at=timezone.now())


class Migration(migrations.Migration):
    dependencies = [
        ("teams", "0002_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="invitation",
            name="revoked_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(
            revoke_all_but_the_newest_open_invitation, migrations.RunPython.noop
        ),
        migrations.AddConstraint(
            model_name="invitation",
            constraint=models.UniqueConstraint(
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                fields=("team", "email"),
                name="teams_invitation_one_open_per_address",
            ),
        ),
    ]
