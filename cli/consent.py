"""`qdn consent export`: every phone of the business with its consent state, as CSV (docs/consent.md).

Read over HTTP from GET /consent (a page at a time), like every client command.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path
from typing import Any, TextIO

from bot.consent import CSV_COLUMNS
from cli.api_client import CliError, client_settings, dashboard_client


def write_csv(rows: list[dict[str, Any]], out: TextIO) -> None:
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows({column: row.get(column) or "" for column in CSV_COLUMNS} for row in rows)


def export(args: argparse.Namespace) -> int:
    with dashboard_client(client_settings(), args.url) as client:
        rows = client.consent_rows()
    if args.out is None:
        write_csv(rows, sys.stdout)
        return 0
    try:
        with Path(args.out).open("w", newline="", encoding="utf-8") as out:
            write_csv(rows, out)
    except OSError as error:
        raise CliError(f"cannot write {args.out}: {error.strerror or error}") from None
    print(f"{len(rows)} phones written to {args.out}", file=sys.stderr)
    return 0


def add_commands(commands: Any, remote: argparse.ArgumentParser) -> None:
    """Register `qdn consent export` (cli/main.py's build_parser); `remote` adds --url."""
    consent = commands.add_parser("consent", help="consent on record").add_subparsers(
        dest="consent_command", required=True, metavar="ACTION"
    )
    exporting = consent.add_parser(
        "export",
        parents=[remote],
        help="every phone of the business as CSV: phone, state, since, source, evidence",
    )
    exporting.add_argument("--out", metavar="FILE", help="write to FILE (default: standard output)")
    exporting.set_defaults(run=export)
