"""Attacks and faults against a bake on the production stack; every probe must hold.

For the default answers (team, per seat) and a user/flat site: bake, start production
settings on PostgreSQL and Redis behind gunicorn (several workers), a Celery worker,
the Stripe emulator and an SMTP sink, then run every class of probes in
`tests/attacks/`. A table of probes tried and held per class is printed at the end of
the run; the test fails listing every probe that did not hold.
"""

import os

import pytest

from attacks import (
    authorization,
    csrf,
    emulator,
    headers,
    login_limits,
    mail,
    races,
    replay,
    stripe_faults,
    tampering,
    webhooks,
)
from attacks.harness import Probes
from attacks.stack import Stack
from conftest import OPTION_SETS, README_OPTION_SETS, bake_into, record_figure

# Classes in the order they run: the ones that change state or stop parts come last.
CLASSES = (
    headers,
    authorization,
    csrf,
    tampering,
    webhooks,
    replay,
    emulator,
    stripe_faults,
    mail,
    login_limits,
    races,
)
# The fewest probes a bake must try, so a class that silently stops generating shows.
MIN_PROBES_PER_BAKE = 200


@pytest.mark.parametrize(
    "option_set",
    [
        pytest.param(name, marks=pytest.mark.xdist_group(f"attacks-{name}"))
        for name in README_OPTION_SETS
    ],
)
def test_every_attack_and_fault_holds(option_set, tmp_path, postgres, redis_server):
    bake = bake_into(option_set, tmp_path / "bake")
    redis_db = list(OPTION_SETS).index(option_set) + 1
    stack = Stack(bake.path, postgres, redis_server, redis_db, tmp_path / "logs")
    probes = Probes()
    try:
        stack.start()
        for probe_class in CLASSES:
            # A class that breaks off is a failure of its own; the others still run.
            probes.check(
                "stack",
                f"{probe_class.KIND} probes ran to the end",
                lambda probe_class=probe_class: probe_class.run(stack, probes),
            )
        for name, process in stack.processes.items():
            probes.record(
                "stack",
                f"{name} still running after every probe",
                process.alive(),
                process.tail(1500),
            )
    finally:
        stack.stop()

    table = probes.table()
    lines = [f"{'class':<16} {'tried':>5} {'held':>5}"]
    lines += [f"{kind:<16} {t:>5} {h:>5}" for kind, (t, h) in table.items()]
    total, held = len(probes.tried), len(probes.tried) - len(probes.failures())
    lines.append(f"{'total':<16} {total:>5} {held:>5}")
    print(f"\nattack probes on {option_set}:\n" + "\n".join(lines))
    record_figure(
        option_set,
        attack_probes_tried=total,
        attack_probes_held=held,
        attack_probes_by_class={kind: f"{h}/{t}" for kind, (t, h) in table.items()},
    )
    failed = [f"[{p.kind}] {p.name}: {p.detail}" for p in probes.failures()]
    if os.environ.get("ATTACK_LOG"):
        with open(os.environ["ATTACK_LOG"], "a") as log:
            log.write(f"== {option_set}\n" + "\n".join(lines + failed) + "\n")
    assert total >= MIN_PROBES_PER_BAKE, "\n".join(lines)
    assert not failed, f"{len(failed)} of {total} probes did not hold:\n" + "\n".join(
        failed
    )
