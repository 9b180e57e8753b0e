"""The `qdn` command."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from bot.errors import StoreError
from web.settings import ConfigError, load_settings


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from store import open_store
    from web.app import create_app

    settings = load_settings()
    # Open the store before the server starts, so a locked or corrupt data
    # folder stops us with one clear line instead of a lifespan traceback.
    store = asyncio.run(open_store(settings.database_url))
    uvicorn.run(
        create_app(settings, store),
        host=settings.host,
        port=settings.port,
        # One worker while the store is TinyDB: the store lives in this
        # process's memory and holds an exclusive lock on the data folder.
        workers=1,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        log_level="info",
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="qdn", description="QuickDumpNow SMS service")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the web service").set_defaults(run=serve)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.run(args)
    except (ConfigError, StoreError) as error:
        print(f"qdn: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
