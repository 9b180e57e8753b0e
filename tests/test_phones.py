import pytest

from bot.errors import ValidationError
from bot.phones import mask_phone, normalize_phone, redact_phone


@pytest.mark.parametrize(
    "typed",
    [
        "(512) 555-0199",
        "512-555-0199",
        "512.555.0199",
        "5125550199",
        "1 512 555 0199",
        "+1 (512) 555-0199",
        "+15125550199",
        " 512 555 0199 ",
    ],
)
def test_common_us_formats_become_e164(typed):
    assert normalize_phone(typed) == "+15125550199"


def test_international_number_with_plus_is_kept():
    assert normalize_phone("+44 20 7946 0958") == "+442079460958"


@pytest.mark.parametrize("junk", ["", "   ", "hello", "123", "555-01", "+1 512 555 0199 0199 12", None, 5125550199])
def test_junk_is_refused_naming_the_field(junk):
    with pytest.raises(ValidationError) as refused:
        normalize_phone(junk, "customer_phone")
    assert refused.value.field == "customer_phone"


@pytest.mark.parametrize("local", ["555-1234", "5551234", "555 1234", "+1 555-1234"])
def test_a_local_only_number_is_refused_asking_for_the_area_code(local):
    """phonenumbers finds 7 digits "possible" in the US, but only dialled locally: no one can text it."""
    with pytest.raises(ValidationError) as refused:
        normalize_phone(local, "customer_phone")
    assert refused.value.field == "customer_phone"
    assert refused.value.message == (
        f"customer_phone: {local!r} has no area code; give the whole number, e.g. 512-555-0199"
    )


def test_masks_show_only_last_four():
    assert mask_phone("+15125550199") == "(•••) •••-0199"
    assert "5125550" not in redact_phone("+15125550199")
    assert redact_phone("+15125550199").endswith("0199")
