"""CPU per dispatcher move webhook (EN ROUTE <job> 20), in process, on TinyDB or PostgreSQL.

    .venv/bin/python bench/bench_dispatcher_move.py [--moves 300] [--rounds 3] [--postgres URL]

Books `--moves` jobs through the API, then sends each one signed dispatcher text moving it en route
(a fresh job each, so every text moves a job and queues the customer's status text), and prints the
process's CPU time (user + system, all threads: time.process_time) per webhook, the median of the
rounds. Nothing is sent (RUN_SENDER=false). A ratio needs a run of the old code on the same machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from starlette.testclient import TestClient  # noqa: E402
from twilio.request_validator import RequestValidator  # noqa: E402

from config.settings import load_settings  # noqa: E402
from tests.support import API_TOKEN, DISPATCHER, base_environ, job_body  # noqa: E402
from web.app import create_app  # noqa: E402


def one_round(moves: int, database_url: str | None) -> float:
    with tempfile.TemporaryDirectory() as folder:
        overrides = {"RUN_SENDER": "false", **({"DATABASE_URL": database_url} if database_url else {})}
        settings = load_settings(base_environ(Path(folder), **overrides), env_file=None)
        sign = RequestValidator(str(settings.webhook_secret)).compute_signature
        url = settings.public_base_url + "/twilio/default/sms"
        with TestClient(create_app(settings), headers={"Authorization": f"Bearer {API_TOKEN}"}) as client:
            ids = [client.post("/jobs", json=job_body()).json()["id"] for _ in range(moves)]
            forms = [
                {
                    "MessageSid": f"SM{n:032x}",
                    "From": DISPATCHER,
                    "To": "+15125550123",
                    "Body": f"EN ROUTE {job_id} 20",
                    "NumMedia": "0",
                    "AccountSid": "AC" + "3f" * 16,
                }
                for n, job_id in enumerate(ids)
            ]
            signed = [(form, {"X-Twilio-Signature": sign(url, form)}) for form in forms]
            started = time.process_time()
            for form, headers in signed:
                response = client.post("/twilio/default/sms", data=form, headers=headers)
                assert response.status_code == 200 and "en route" in response.text, response.text
            return (time.process_time() - started) / moves


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--moves", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--postgres", default=None, help="a PostgreSQL DATABASE_URL (default: TinyDB)")
    args = parser.parse_args()
    cpu = [one_round(args.moves, args.postgres) for _ in range(args.rounds)]
    store = "postgresql" if args.postgres else "tinydb"
    shown = ", ".join(f"{c * 1000:.2f}" for c in cpu)
    print(f"{store}: CPU per dispatcher move {statistics.median(cpu) * 1000:.2f} ms (rounds: {shown})")


if __name__ == "__main__":
    main()
