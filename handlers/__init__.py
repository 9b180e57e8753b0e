"""Starlette endpoint functions: parse the request, call bot/ and the store, answer."""
