"""Benchmark this emulator against an earlier version of itself, in one run.

Absolute rates swing with the machine's load, so both versions run in the same
process, alternately (old, new, new, old, ...), and the medians are compared:

    python tests/compare_benchmark.py --ref HEAD --path tools/stripe-emulator/src/stripe_emulator

`--path` is the package folder inside the git repository at `--ref` (by default the
installed package's own folder). Nothing here is a test: it prints figures only.
"""

import argparse
import importlib
import io
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from types import ModuleType

import stripe_emulator
from stripe_emulator import benchmark as new_benchmark

OLD_NAME = "previous_stripe_emulator"
FIGURES = [
    ("HTTP", 0, "retrieve"),
    ("HTTP", 0, "update"),
    ("in-process", 1, "retrieve"),
    ("in-process", 1, "update"),
    ("engine alone", 2, "retrieve"),
    ("engine alone", 2, "update"),
]


def git(*args: str, cwd: Path) -> bytes:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True
    ).stdout


def load_previous(ref: str, path: str | None, workdir: Path) -> ModuleType:
    """The package as it was at `ref`, importable as `previous_stripe_emulator`."""
    here = Path(stripe_emulator.__file__).resolve().parent
    top = Path(git("rev-parse", "--show-toplevel", cwd=here).decode().strip())
    path = path or str(here.relative_to(top))
    archive = git("archive", "--format=tar", ref, path, cwd=top)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(workdir / "archive", filter="data")
    shutil.move(workdir / "archive" / path, workdir / OLD_NAME)
    sys.path.insert(0, str(workdir))
    return importlib.import_module(f"{OLD_NAME}.benchmark")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ref", default="HEAD", help="git revision of the old code")
    parser.add_argument("--path", help="the package folder at that revision")
    parser.add_argument("--rounds", type=int, default=6, help="runs of each version")
    parser.add_argument("--requests", type=int, default=1000, help="calls per figure")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as workdir:
        old_benchmark = load_previous(args.ref, args.path, Path(workdir))
        runs: dict[str, list] = {"old": [], "new": []}
        for round_ in range(args.rounds):
            order = ("old", "new") if round_ % 2 == 0 else ("new", "old")
            for name in order:
                module = old_benchmark if name == "old" else new_benchmark
                runs[name].append(module.run(args.requests))
            print(f"round {round_ + 1}/{args.rounds} done", file=sys.stderr)
    print(
        f"{args.requests} calls per figure, {args.rounds} interleaved runs of each"
        f" version (old = {args.ref}); medians in requests per second"
    )
    print(f"{'figure':<28}{'old':>9}{'new':>9}{'new/old':>9}{'range':>16}")
    for door, index, operation in FIGURES:
        old = [run[index][operation] for run in runs["old"]]
        new = [run[index][operation] for run in runs["new"]]
        pairs = [n / o for n, o in zip(new, old, strict=True)]
        print(
            f"{door + ' ' + operation:<28}{statistics.median(old):>9.0f}"
            f"{statistics.median(new):>9.0f}"
            f"{statistics.median(new) / statistics.median(old):>9.2f}"
            f"{min(pairs):>8.2f}-{max(pairs):.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
