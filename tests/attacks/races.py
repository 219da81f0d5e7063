"""Races with real concurrency: a double Checkout, two admins demoting each other,
an invitation accepted while a seat sync hangs on Stripe."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from .billing import (
    active_subscriptions,
    billing_prefix,
    manager,
    pay,
    settle,
    start_checkout,
    stripe_get,
)
from .harness import Client, describe

KIND = "races"
DEMOTION_ROUNDS = 20
PROMPT_SECONDS = 5


def at_once(*calls):
    """Run the calls at the same moment, each in its own thread; their results."""
    barrier = threading.Barrier(len(calls))

    def go(call):
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(go, calls))


def double_checkout(stack, probes):
    seed = stack.seed
    role = manager(seed)
    clients = [Client(stack, seed["roles"][role]["sessions"][3]) for _ in range(2)]
    started = at_once(*(lambda c=c: start_checkout(stack, c, role) for c in clients))
    ids = [session_id for _, session_id in started]
    if None in ids:
        probes.record(
            KIND,
            "double Checkout: both sessions start",
            False,
            [describe(r) for r, _ in started],
        )
        return None
    returns = []
    for session_id in ids:
        try:
            returns.append(pay(stack, session_id))
        except Exception:  # the emulator may refuse to take a second payment
            returns.append(None)
    answers = at_once(
        *(lambda c=c, p=p: c.get(p) for c, p in zip(clients, returns, strict=True) if p)
    )
    probes.record(
        KIND,
        "double Checkout: both returns answer without a server error",
        all(a.status_code < 500 for a in answers),
        [describe(a) for a in answers],
    )
    customers = {
        stripe_get(stack, f"/v1/checkout/sessions/{i}")["customer"] for i in ids
    }
    probes.record(
        KIND,
        "double Checkout: one Stripe customer for the subscriber",
        len(customers) == 1,
        customers,
    )
    customer = sorted(c for c in customers if c)[0]
    active = settle(lambda: len(active_subscriptions(stack, customer)) == 1, 30)
    count = len(active_subscriptions(stack, customer))
    probes.record(
        KIND,
        "double Checkout: one active subscription after settlement",
        active,
        f"{count} active subscriptions for {customer}",
    )
    return customer


def demotions(stack, probes):
    seed = stack.seed
    prefix = billing_prefix(seed, "admin")
    one = Client(stack, seed["roles"]["admin"]["sessions"][3])
    two = Client(stack, seed["roles"]["second_admin"]["sessions"][3])
    ids = seed["memberships"]

    def demote(client, victim):
        return lambda: client.post(
            f"{prefix}settings/members/{ids[victim]}/role/", {"role": "member"}
        )

    def is_admin(client):
        return client.get(f"{prefix}settings/").status_code == 200

    for round_number in range(DEMOTION_ROUNDS):
        answers = at_once(demote(one, "second_admin"), demote(two, "admin"))
        admins = [is_admin(one), is_admin(two)]
        held = any(admins) and all(a.status_code < 500 for a in answers)
        probes.record(
            KIND,
            f"admins demote each other, round {round_number + 1}: an admin remains",
            held,
            f"answers {[describe(a) for a in answers]}, admins {admins}",
        )
        if not any(admins):
            stack.shell(
                "from apps.teams.models import Membership\n"
                f"Membership.objects.filter(pk__in={[ids['admin'], ids['second_admin']]})"
                ".update(role='admin')"
            )
            continue
        # The one still an admin promotes the other back for the next round.
        keeper, other = (one, "second_admin") if admins[0] else (two, "admin")
        keeper.post(f"{prefix}settings/members/{ids[other]}/role/", {"role": "admin"})


INVITE = """
from allauth.account.models import EmailAddress
from django.test import Client
from django.utils import timezone
from apps.teams.models import Invitation, Team
from apps.users.models import User
team = Team.objects.get(slug={slug!r})
user = User.objects.create_user(email="late.joiner@example.com", password="x-long-pass-9")
EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
invitation = Invitation.objects.create(team=team, email=user.email)
client = Client()
client.force_login(user)
team.billing_details_last_changed = timezone.now()
team.save(update_fields=["billing_details_last_changed"])
result = [invitation.token, client.cookies[{cookie!r}].value]
"""


def accept_during_sync(stack, probes):
    seed = stack.seed
    slug = seed["teams"]["alpha"]
    token, session = stack.query(
        "result", setup=INVITE.format(slug=slug, cookie=seed["session_cookie"])
    )
    stack.fault(
        "/v1/subscription*", "timeout", times=50, method="POST", hang_seconds=30
    )
    try:
        sync = ThreadPoolExecutor(1).submit(
            stack.shell,
            "from config.celery_app import app\n"
            "app.send_task('apps.subscriptions.tasks.sync_subscriptions_task')",
        )
        sync.result()
        time.sleep(3)
        response = Client(stack, session).post(f"/invitations/{token}/")
    finally:
        stack.clear_faults()
    probes.record(
        KIND,
        "an invitation accepted while a seat sync hangs on Stripe answers promptly",
        response.seconds < PROMPT_SECONDS and response.status_code == 302,
        f"{describe(response)} in {response.seconds:.1f} s",
    )


def run(stack, probes):
    double_checkout(stack, probes)
    if stack.seed["team_build"]:
        demotions(stack, probes)
        accept_during_sync(stack, probes)
