"""The command line of a reference server: its port and database, served by uvicorn."""

import argparse
from collections.abc import Callable
from typing import Any

import uvicorn


def serve(description: str, build: Callable[[str, int], Any]) -> None:
    """`build(database_url, pool_size)` makes the ASGI app."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--pool-size", type=int, default=20)
    args = parser.parse_args()
    app = build(args.database_url, args.pool_size)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")
