"""python -m stripe_emulator [--host 127.0.0.1] [--port 12111] [--state FILE] [--verbose]"""

import argparse
import contextlib
import signal
import sys
import threading

from .server import EmulatorServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m stripe_emulator",
        description="A local, stateful stand-in for the Stripe API (test mode only).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument(
        "--port", type=int, default=12111, help="port (0 picks a free one)"
    )
    parser.add_argument(
        "--state", metavar="FILE", help="keep state in FILE across restarts"
    )
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
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
