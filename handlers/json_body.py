"""The JSON API's request bodies: parsed once, refused alike (400 not JSON or too deep, 422 non-text)."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from bot import job_fields
from bot.errors import BadRequest

# Every body this API takes is one flat object. Refusing anything much deeper
# keeps the answer the same whatever the interpreter's recursion limit is.
MAX_JSON_DEPTH = 20
TOO_DEEP = f"The request body is nested too deeply (more than {MAX_JSON_DEPTH} levels)."


async def json_body(request: Request) -> Any:
    """The parsed JSON body: 400 when it is not JSON or is nested too deeply; 422 when it holds non-text.

    Python's parser gives up on deep nesting (`[[[[...]]]]`) with RecursionError,
    which is the client's doing, not a server fault.
    """
    raw = await request.body()
    try:
        data = json.loads(raw)
    except RecursionError:
        raise BadRequest(TOO_DEEP) from None
    except ValueError:
        raise BadRequest("The request body is not valid JSON.") from None
    _check_document(data)
    return data


def _check_document(data: Any) -> None:
    """Refuse a body nested too deeply (400), or with a lone surrogate or a control character in a key (422).

    A JSON "\\ud800" escape parses to half a character: it can be neither stored
    nor sent, nor shown in an error, so it is refused here for every route, naming
    the top-level field it is under. Walked with a list, not recursion.
    """
    pending: list[tuple[Any, int, str | None]] = [(data, 1, None)]
    while pending:
        value, depth, field = pending.pop()
        if isinstance(value, dict | list) and depth > MAX_JSON_DEPTH:
            raise BadRequest(TOO_DEEP)
        if isinstance(value, dict):
            for key, item in value.items():
                if field is None:  # a field's name: shown escaped, so it can be named at all
                    job_fields.check_characters(job_fields.printable(key), key, multiline=False)
                else:
                    job_fields.refuse_surrogates(field, key)
                pending.append((item, depth + 1, field or key))
        elif isinstance(value, list):
            pending.extend((item, depth + 1, field) for item in value)
        elif isinstance(value, str):
            # Control characters are the field's own rule (bot.jobs); a surrogate is never text.
            job_fields.refuse_surrogates(field or "body", value)
