"""A page of the dashboard's lists costs the same at 200k texts as at 1k: measured, not asserted.

    .venv/bin/python bench/bench_paging.py [--repeat 30]

Opens each data set of bench/generate.py (small: 200 jobs / 1,000 texts, the
baseline; large: 10,000 jobs / 200,000 texts) in the real app, in-process
(Starlette's TestClient: no sockets, so only the app's own work is timed),
and times the same pages on both: the median of `--repeat` requests each.
Printed: each figure at both sizes and the ratio large / small (1.0 means
the page does not notice the history), and for contrast what reading a
whole list costs at each size (the store's unpaged calls, as the API
answered before paging).
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from starlette.testclient import TestClient  # noqa: E402

from bench import generate  # noqa: E402
from bench.timing import median_ms  # noqa: E402
from config.settings import load_settings  # noqa: E402
from handlers.paging import next_cursor  # noqa: E402
from store import Page  # noqa: E402
from web.app import create_app  # noqa: E402

Figures = dict[str, float]


def measure(data_set: generate.DataSet, work: Path, repeat: int) -> tuple[Figures, float, int]:
    data, manifest = generate.fresh_copy(data_set, work / data_set.name)
    environ = {**generate.bench_environ(data), "RUN_SENDER": "false"}
    app = create_app(load_settings(environ, env_file=None))
    started = time.perf_counter()
    with TestClient(app, headers={"Authorization": f"Bearer {environ['API_TOKEN']}"}) as client:
        opened = time.perf_counter() - started
        core = client.app_state["services"].store.core
        dispatcher, customer = manifest["dispatchers"][0], manifest["senders"][0]
        newest = max(core.index.jobs)
        middle_job = (newest + min(core.index.jobs)) // 2
        keys = core.index.phone_log.after(dispatcher, None, 10**9)
        logged = sum(len(core.index.phone_log.after(phone, None, 10**9)) for phone in manifest["dispatchers"])
        created_at, pid, doc = keys[len(keys) // 2]
        middle_text = [created_at, core.index.ids.make(pid, doc)]
        since = core.index.jobs[newest - 50]["updated_at"]

        def get(path: str, **params: Any) -> Callable[[], Any]:
            def call() -> Any:
                response = client.get(path, params=params)
                assert response.status_code == 200, response.text
                return response

            return call

        pages = {
            "GET /jobs (first page of 100)": get("/jobs"),
            "GET /jobs (a page from the middle)": get("/jobs", cursor=next_cursor(Page([], [middle_job]), "jobs")),
            "GET /jobs?status=complete (a common status)": get("/jobs", status="complete"),
            # Both sizes have at least 5 open jobs: the same rows, so the same rendering work.
            "GET /jobs?status=en_route,arrived&limit=5": get("/jobs", status="en_route,arrived", limit=5),
            "GET /jobs?updated_since= (last 50 changes)": get("/jobs", updated_since=since),
            "GET /jobs/{id}/messages (a job's texts)": get(f"/jobs/{middle_job}/messages"),
            "GET /messages?phone=&limit=10 (a customer)": get("/messages", phone=customer, limit=10),
            "GET /messages?phone= (a dispatcher, first page)": get("/messages", phone=dispatcher),
            "GET /messages?phone= (a dispatcher, middle page)": get(
                "/messages", phone=dispatcher, cursor=next_cursor(Page([], middle_text), "phone_messages")
            ),
        }
        figures = {name: median_ms(call, repeat) for name, call in pages.items()}
        store = client.app_state["services"].store

        portal = client.portal
        assert portal is not None

        def whole(read: Callable[[], Any]) -> Callable[[], Any]:
            return lambda: portal.call(read)

        figures["(unpaged) every job, as GET /jobs answered before"] = median_ms(whole(store.list_jobs), 3)
        figures["(unpaged) a dispatcher's every text"] = median_ms(whole(lambda: store.phone_messages(dispatcher)), 3)
    return figures, opened, logged


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=30, help="requests per figure (the median is printed)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="qdn-bench-paging-") as folder:
        work = Path(folder)
        small, small_open, _ = measure(generate.DATA_SETS["small"], work, args.repeat)
        large, large_open, large_keys = measure(generate.DATA_SETS["large"], work, args.repeat)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npages of 100 rows, median of {args.repeat} requests (in-process app, no sockets)\n")
    print("| figure | 200 jobs / 1k texts (baseline) | 10k jobs / 200k texts | ratio |")
    print("|---|---|---|---|")
    for name in small:
        print(f"| {name} | {small[name]:.2f} ms | {large[name]:.2f} ms | {large[name] / small[name]:.2f} |")
    print(f"\nstart-up (open the store): {small_open:.2f} s / {large_open:.2f} s; peak RSS of this run {peak:.0f} MB")
    print(f"the three dispatchers hold {large_keys:,} of the 200k texts, in thousands of job files")
    return 0


if __name__ == "__main__":
    asyncio.set_event_loop_policy(None)
    sys.exit(main())
