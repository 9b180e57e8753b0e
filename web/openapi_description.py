"""The JSON API's description in /openapi.json: its errors, who may call what, paging and events.

Prose for the people reading the document (and the clients generated from it); web/openapi.py
puts it in `info.description`.
"""

DESCRIPTION = """Jobs, texts and tracking for QuickDumpNow.

Errors are JSON `{"error": {"code", "message"}}` whatever the path: `bad_request` (400: a body that
is not JSON, or a refused CORS preflight), `unauthorized` (401), `forbidden` (403: Twilio webhooks
with a wrong signature, or a dashboard token on the admin API), `not_found` (404),
`method_not_allowed` (405, with `Allow`), `request_timeout` (408: a body that did not arrive within
30 seconds; the connection is closed), `invalid_transition` (409: a refused job move), `conflict`
(409: a business's slug, number or messaging service already taken, or the settings' own business
changed over the admin API), `payload_too_large` (413), `validation_error` (422, naming the field),
`rate_limited` (429, with `Retry-After`), `unavailable` (503, with `Retry-After`: the store cannot be
used right now, e.g. its database connection is lost; the service reconnects by itself).

The `/admin/businesses` operations are the deployment operator's (bearer ADMIN_TOKEN); every other
bearer operation is a business's dashboard's (its token; API_TOKEN for the default business), and
sees that business alone.

Lists page with `limit` and `cursor` (`next_cursor`, null at the end). Writes take an
`Idempotency-Key`. Events (message.received, job.status_changed, message.delivery_failed, phone.undeliverable) are
POSTed to the deployment's EVENTS_URL, signed per Standard Webhooks: see the README."""
