"""Stripe faults: with every Stripe call failing (500, 429, a hung connection), every
page that calls Stripe answers a friendly page promptly and every Celery task ends or
retries without bringing the worker down."""

from concurrent.futures import ThreadPoolExecutor

from .billing import billing_prefix, manager, subscribe
from .harness import Client, describe, leaks

KIND = "stripe faults"
FAULTS = ("500", "429", "timeout")
# Longer than the site's Stripe timeout, so that every call gives up on its own.
HANG_SECONDS = 20
PROMPT_SECONDS = 15
TASKS = """
import time
from config.celery_app import app
app.loader.import_default_modules()
# The tasks Celery beat runs on this site, with no arguments.
names = sorted(
    entry["task"] for entry in app.conf.beat_schedule.values()
    if entry["task"].startswith("apps.") and not entry.get("args")
)
results = {name: app.send_task(name) for name in names}
deadline = time.monotonic() + 150
while time.monotonic() < deadline and any(
    r.state in ("PENDING", "STARTED") for r in results.values()
):
    time.sleep(0.5)
outcome = {name: [r.state, repr(r.result)[:300]] for name, r in results.items()}
"""
# A task that raised an unexpected error (a crash of the task, not of the worker).
ENDED = ("SUCCESS", "RETRY")


def pages(stack):
    """(method, path, data) of every page that calls Stripe, for the billing manager."""
    seed = stack.seed
    prefix = billing_prefix(seed, manager(seed))
    price = seed["prices"]["recurring"][-1]
    one_off = (seed["prices"]["one_off"] or [price])[0]
    return [
        ("POST", prefix + "subscription/checkout/", {"price_id": price}),
        ("GET", f"/pricing/checkout/{price}/", None),
        ("GET", prefix + "subscription/confirm/?session_id=cs_test_missing", None),
        ("POST", prefix + "subscription/buy/", {"price_id": one_off, "quantity": "1"}),
        ("GET", prefix + "subscription/purchase/?session_id=cs_test_missing", None),
        ("POST", prefix + "subscription/promotion-code/", {"code": "LAUNCH20"}),
        ("POST", prefix + "subscription/portal/", None),
        ("POST", prefix + "subscription/resume/", None),
        ("GET", prefix + "subscription/card/", None),
        ("GET", prefix + "subscription/", None),
        ("GET", "/pricing/", None),
    ]


def friendly(stack, session, method, path, data):
    def probe():
        response = Client(stack, session).request(method, path, data=data, timeout=40)
        if response.seconds > PROMPT_SECONDS:
            return f"took {response.seconds:.1f} s ({describe(response)})"
        if response.status_code >= 500 and response.status_code != 503:
            return f"answered {describe(response)}"
        if stack.emulator_url in response.headers.get("Location", ""):
            return (
                f"sent the customer to Stripe although it failed: {describe(response)}"
            )
        if response.status_code == 503 and "Retry-After" not in response.headers:
            return "a 503 without Retry-After"
        return leaks(response)

    return probe


def run(stack, probes):
    seed = stack.seed
    # A subscriber with a subscription, so that the tasks have Stripe work to do.
    subscribe(stack, manager(seed, other=True))
    session = seed["roles"][manager(seed)]["sessions"][4]
    for status in FAULTS:
        stack.clear_faults()
        stack.fault("/v1/*", status, times=10000, hang_seconds=HANG_SECONDS)
        try:
            named = [
                (
                    f"{method} {path} with Stripe answering {status}",
                    friendly(stack, session, method, path, data),
                )
                for method, path, data in pages(stack)
            ]
            with ThreadPoolExecutor(2) as pool:
                tasks = pool.submit(
                    stack.query,
                    "outcome",
                    setup=TASKS + f"\nstack_marker = 'status {status}'",
                    timeout=240,
                )
                probes.run_all(KIND, named, workers=4)
                outcome = tasks.result()
        finally:
            stack.clear_faults()
        for name, (state, result) in outcome.items():
            probes.record(
                KIND,
                f"task {name} with Stripe answering {status}",
                state in ENDED,
                f"{state}: {result}",
            )
        probes.record(
            KIND,
            f"worker alive after tasks with Stripe answering {status}",
            stack.processes["worker"].alive(),
            stack.processes["worker"].tail(1500),
        )
