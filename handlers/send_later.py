"""DELETE /jobs/{id}/messages/{message id}: cancel a text not sent yet (a dashboard's send-later text).

- 204 once it is cancelled: it stays in the conversation as `skipped`, its reason saying it was
  cancelled (bot/send_later.py) -- the record of what was planned; a second DELETE: 204 again;
- 409 `invalid_transition` when it was sent, is being sent (a sender holds it, or an attempt may
  have reached Twilio), or is no text to send (an inbound one, a reply);
- 404 for a message that is not in that job's conversation (another job's, another business's).
The check and the cancellation are one store write beside the senders' claims (Store.cancel_pending).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from bot import send_later
from bot.errors import InvalidTransition, NotFound
from handlers.auth import require_api_token
from handlers.jobs import _job_id
from handlers.services import services


@require_api_token
async def cancel_message(request: Request) -> Response:
    svc = services(request)
    job_id, message_id = _job_id(request), request.path_params["message_id"]
    await svc.store.get_job(job_id)  # NotFound for a job this business has not
    missing = NotFound(f"No message {message_id[:40]} in job {job_id}'s conversation.")
    try:
        message = await svc.store.get_message(message_id)
    except NotFound:
        raise missing from None
    if message.get("job_id") != job_id:
        raise missing
    if await svc.store.cancel_pending(message_id, send_later.cancelled) is not None:
        return Response(status_code=204)
    current = await svc.store.get_message(message_id)
    if current["status"] == "skipped" and current.get("error_message") == send_later.CANCELLED_REASON:
        return Response(status_code=204)  # cancelled before: the same answer
    state = "being sent" if current["status"] == "pending" else current["status"]
    raise InvalidTransition(f"Message {message_id} is {state}: only a text not sent yet can be cancelled.")
