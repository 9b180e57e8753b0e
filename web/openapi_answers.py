"""The API's answers as its operations list them (web/openapi.py, web/openapi_admin.py): the error shape
(SPEC "Errors"), each status's codes, and references to the schemas of web/openapi_schemas.py.
"""

from __future__ import annotations

from typing import Any

from handlers.responses import ERROR_CODES

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"enum": [code for codes in ERROR_CODES.values() for code in codes]},
                "message": {"type": "string"},
            },
            "additionalProperties": False,
        }
    },
    "additionalProperties": False,
}


# -- answers, as operations list them -------------------------------------------------------------


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def json_answer(schema: dict[str, Any], description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": description, "content": {"application/json": {"schema": schema}}}
    if headers:
        answer["headers"] = headers
    return answer


def error_answer(
    status: int, description: str, headers: dict[str, Any] | None = None, *, code: str | None = None
) -> dict[str, Any]:
    """An error answer in the JSON error shape: its `code` the one given, else any its status has."""
    codes = (code,) if code is not None else ERROR_CODES[status]
    assert set(codes) <= set(ERROR_CODES[status]), (status, codes)
    fixed = {"const": codes[0]} if len(codes) == 1 else {"enum": list(codes)}
    shape = {"properties": {"error": {"properties": {"code": fixed}}}}
    return json_answer({"allOf": [ref("Error"), shape]}, description, headers)
