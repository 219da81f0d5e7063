"""python -m stripe_emulator [--host 127.0.0.1] [--port 12111] [--env-file .env]
[--state FILE] [--verbose]"""

import argparse
import contextlib
import os
import signal
import sys
import threading
from pathlib import Path

from .server import EmulatorServer

DEFAULT_PORT = 12111
PORT_VARIABLE = "STRIPE_EMULATOR_PORT"


def env_file_value(path: str, name: str) -> str | None:
    """The value of `name=` in a dotenv file, or None (no file, or not set there)."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return None
    for line in lines:
        key, sep, value = line.strip().removeprefix("export ").partition("=")
        if sep and key.strip() == name:
            return value.strip().strip("'\"")
    return None


def default_port(env_file: str | None) -> int:
    """STRIPE_EMULATOR_PORT from the environment, else from `env_file`, else 12111.

    The site reads the same variable the same way (the environment wins over .env),
    so the two agree on where the emulator listens.
    """
    value = os.environ.get(PORT_VARIABLE)
    if value is None and env_file:
        value = env_file_value(env_file, PORT_VARIABLE)
    if not value:
        return DEFAULT_PORT
    try:
        return int(value)
    except ValueError:
        raise SystemExit(
            f"stripe_emulator: {PORT_VARIABLE} must be a port number, not {value!r}"
        ) from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m stripe_emulator",
        description="A local, stateful stand-in for the Stripe API (test mode only).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument(
        "--port",
        type=int,
        help=f"port (0 picks a free one; default: {PORT_VARIABLE}, else {DEFAULT_PORT})",
    )
    parser.add_argument(
        "--env-file",
        metavar="FILE",
        help=f"read {PORT_VARIABLE} from this dotenv file when the environment has none",
    )
    parser.add_argument(
        "--state", metavar="FILE", help="keep state in FILE across restarts"
    )
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    if args.port is None:
        args.port = default_port(args.env_file)
    try:
        server = EmulatorServer(args.host, args.port, args.state, verbose=args.verbose)
    except OSError as error:
        print(
            f"stripe_emulator: cannot listen on {args.host}:{args.port}: {error}",
            file=sys.stderr,
        )
        return 1
    except ValueError as error:
        print(
            f"stripe_emulator: cannot read the state file {args.state}: {error}",
            file=sys.stderr,
        )
        return 1
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    server.start()
    print(f"Stripe emulator listening on {server.url}", flush=True)
    print(f"  API base (STRIPE_API_HOST): {server.url}")
    print(
        "  Secret keys accepted: any key starting with sk_test_"
        " (e.g. sk_test_emulator0000000000000000); anything else gets 401"
    )
    print("  Publishable keys: any pk_test_... value")
    print(f"  Control routes: {server.url}/_emulator/")
    print(f"  State file: {args.state or '(none: state is lost on exit)'}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        stopped.wait()
    server.stop()
    print("Stripe emulator stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
