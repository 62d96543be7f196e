"""``python -m kubeez_nb.emulator --port N --api-key KEY [--speed X] [--seed-history N] [--control-token T]``."""

from __future__ import annotations

import argparse
import signal
import sys
import threading


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kubeez_nb.emulator",
        description="Serve a local Kubeez API (the emulator) until Ctrl-C.",
    )
    parser.add_argument(
        "--port", type=int, default=8000, help="port to listen on (0: any free port; default 8000)"
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument(
        "--api-key",
        default=None,
        help="the demo key, with every scope (default: a random sk_demo_...)",
    )
    parser.add_argument(
        "--credits", type=float, default=10_000, help="starting balance of the key (default 10000)"
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=20.0,
        help="job speed factor (20: an image in ~2 s, a video in ~5 s)",
    )
    parser.add_argument(
        "--seed-history",
        type=int,
        default=0,
        metavar="N",
        help="add N past generations (up to 100000)",
    )
    parser.add_argument(
        "--url-ttl",
        type=float,
        default=3600.0,
        help="lifetime of signed links in seconds (default 3600)",
    )
    parser.add_argument(
        "--control-token",
        default=None,
        metavar="TOKEN",
        help="token the /_emulator/* control routes want in X-Emulator-Token (default: random, printed)",
    )
    parser.add_argument(
        "--idle-timeout",
        type=float,
        default=30.0,
        metavar="S",
        help="close a connection that sends nothing for S seconds (default 30)",
    )
    parser.add_argument(
        "--allow-private-fetch",
        action="store_true",
        help="let server-side fetches (assets, captions, separation) reach loopback / private addresses",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)

    from kubeez_nb.emulator import Emulator

    emu = Emulator(
        port=args.port,
        host=args.host,
        api_key=args.api_key,
        credits=args.credits,
        speed=args.speed,
        seed_history=args.seed_history,
        url_ttl=args.url_ttl,
        quiet=not args.verbose,
        control_token=args.control_token,
        idle_timeout=args.idle_timeout,
        allow_private_fetch=args.allow_private_fetch,
    )
    try:
        emu.start()
    except OSError as exc:
        print(
            f"Cannot listen on {args.host}:{args.port}: {exc}. Pick another --port.",
            file=sys.stderr,
        )
        return 2
    print(f"Kubeez emulator serving at {emu.url}", flush=True)
    print(f"API key: {emu.api_key}", flush=True)
    print(f"  export KUBEEZ_BASE_URL={emu.url} KUBEEZ_API_KEY={emu.api_key}", flush=True)
    if args.control_token is None:
        print(f"Control token (X-Emulator-Token for /_emulator/*): {emu.control_token}", flush=True)
    print("Press Ctrl-C to stop.", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        emu.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
