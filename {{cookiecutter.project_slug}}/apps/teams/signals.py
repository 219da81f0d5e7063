from django.dispatch import Signal

# Sent with sender=Team and team=<Team> whenever a member joins or leaves, so that
# per-seat billing can mark the team's quantity as changed.
team_members_changed = Signal()
