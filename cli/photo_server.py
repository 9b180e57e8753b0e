"""Pictures for `qdn chat /photo PATH`: served from this machine the way Twilio serves an MMS's.

A real phone's picture reaches the service as a `MediaUrl` naming Twilio's copy,
which the service fetches later. The simulator plays that part: it serves each
picture on a loopback port at a path shaped like a Twilio Media resource, for as
long as the chat runs. The service fetches from loopback only in local use (no
Twilio settings): everywhere else it fetches from Twilio and nowhere else.
"""

from __future__ import annotations

import mimetypes
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cli.api_client import CliError

MAX_PHOTO_BYTES = 50 * 1024 * 1024  # past the service's own 5 MB limit: the service says no, not the phone


class PhotoServer:
    """Serves the pictures a simulated phone sends; `with PhotoServer(account) as photos: photos.add(path)`."""

    def __init__(self, account_sid: str) -> None:
        self.account_sid = account_sid
        self.pictures: dict[str, tuple[bytes, str]] = {}  # path -> (bytes, declared type)
        pictures = self.pictures

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                found = pictures.get(self.path)
                data, kind = found if found else (b"Not Found", "text/plain")
                self.send_response(200 if found else 404)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # the chat's screen is not a server log
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="qdn-chat-photos", daemon=True)

    def __enter__(self) -> PhotoServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def add(self, file: Path) -> tuple[str, str]:
        """Serve `file`; its (MediaUrl, declared content type), as a webhook names them. CliError if unreadable."""
        try:
            if file.stat().st_size > MAX_PHOTO_BYTES:
                raise CliError(f"{file} is larger than {MAX_PHOTO_BYTES // (1024 * 1024)} MB; no phone sends that")
            data = file.read_bytes()
        except OSError as error:
            raise CliError(f"cannot read {file}: {error.strerror or error}") from None
        # Declared from the name, as a phone would; the service trusts only the bytes.
        kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        path = (
            f"/2010-04-01/Accounts/{self.account_sid}/Messages/MM{secrets.token_hex(16)}"
            f"/Media/ME{secrets.token_hex(16)}"
        )
        self.pictures[path] = (data, kind)
        return self.origin + path, kind
