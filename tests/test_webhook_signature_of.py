"""The webhook signature is computed by hand first (handlers/twilio/signature.py `signature_of`, issue #30):
it must be what Twilio's SDK computes for any URL, form and key, or a genuine webhook would be refused
(or, the other way, a forged one accepted) -- and a genuine one must still be accepted end to end."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from starlette.datastructures import ImmutableMultiDict
from twilio.request_validator import RequestValidator

from handlers.twilio.signature import _field_values, _signed_by, signature_of

# Field names and values as a form body can carry them (any text a UTF-8 body decodes to), names
# repeated now and then (a field Twilio sends twice), values repeated under one name too.
TEXT = st.text(max_size=12)  # any code point but a lone surrogate, which no UTF-8 body decodes to
NAMES = st.sampled_from(["Body", "From", "To", "MessageSid", "MediaUrl0", "a", "A", "b", ""]) | TEXT
FORMS = st.lists(st.tuples(NAMES, st.sampled_from(["", "x", "hi & bye"]) | TEXT), max_size=25)
URLS = st.sampled_from(["https://sms.example.com/twilio/acme/sms", "https://h:8443/t?x=1&y=%20"]) | TEXT
ALGORITHMS = st.sampled_from(["HMAC_SHA1", "HMAC_SHA256", "hmac_sha256", "HMAC_MD5", ""])


@given(pairs=FORMS, url=URLS, key=TEXT, algorithm=ALGORITHMS)
def test_the_signature_is_the_sdks_for_any_form(pairs, url, key, algorithm):
    validator = RequestValidator(key)
    fields = _field_values(ImmutableMultiDict(pairs))
    try:
        expected = validator.compute_signature(url, fields, algorithm)
    except ValueError:
        expected = None  # an algorithm the SDK does not know
    assert signature_of(validator.token, url, fields, algorithm) == expected


@given(pairs=FORMS, key=TEXT, algorithm=st.sampled_from(["HMAC_SHA1", "HMAC_SHA256"]))
def test_a_form_signed_by_the_sdk_is_accepted_and_any_change_to_it_refused(pairs, key, algorithm):
    url = "https://sms.example.com/twilio/acme/sms"
    validator = RequestValidator(key)
    form = ImmutableMultiDict(pairs)
    signature = validator.compute_signature(url, _field_values(form), algorithm)
    assert _signed_by(validator, url, form, signature, algorithm)
    changed = ImmutableMultiDict([*pairs, ("Extra", "field")])
    assert not _signed_by(validator, url, changed, signature, algorithm)
    assert not _signed_by(RequestValidator(key + "x"), url, form, signature, algorithm)
