"""Segment counting as Twilio bills it: GSM-7 160/153, extension chars cost two, UCS-2 70/67."""

from __future__ import annotations

import pytest

from bot.segments import GSM7_BASIC, GSM7_EXTENSION, count_segments, is_gsm7, non_gsm7_characters


@pytest.mark.parametrize(
    ("text", "encoding", "segments", "units"),
    [
        ("", "GSM-7", 0, 0),
        ("a" * 160, "GSM-7", 1, 160),
        ("a" * 161, "GSM-7", 2, 161),
        ("a" * 306, "GSM-7", 2, 306),
        ("a" * 307, "GSM-7", 3, 307),
        ("a" * 459, "GSM-7", 3, 459),
        ("€" * 80, "GSM-7", 1, 160),  # extension characters cost two septets each
        ("€" * 81, "GSM-7", 2, 162),
        ("ë" * 70, "UCS-2", 1, 70),
        ("ë" * 71, "UCS-2", 2, 71),
        ("ë" * 134, "UCS-2", 2, 134),
        ("ë" * 135, "UCS-2", 3, 135),
        ("🚚" * 35, "UCS-2", 1, 70),  # an emoji is a surrogate pair: two code units
        ("🚚" * 36, "UCS-2", 2, 72),
    ],
)
def test_counts_match_twilio(text, encoding, segments, units):
    count = count_segments(text)
    assert (count.encoding, count.segments, count.units) == (encoding, segments, units)


def test_an_escape_pair_is_never_split_across_segments():
    # 152 septets then "€" (2): 154 would straddle the 153 boundary, so "€" opens segment 2;
    # 152 + 153 more septets would then need a third segment although 307 septets < 3*153.
    assert count_segments("a" * 152 + "€" + "a" * 151).segments == 2
    assert count_segments("a" * 152 + "€" + "a" * 152).segments == 3


def test_a_surrogate_pair_is_never_split_across_segments():
    assert count_segments("a" * 66 + "🚚" + "a" * 65).segments == 2  # 🚚 moves to segment 2: 67 + 67
    assert count_segments("a" * 66 + "🚚" + "a" * 66).segments == 3


def test_one_non_gsm_character_turns_the_whole_text_into_ucs2():
    text = "Dana, your trailer is on its way" + "’"  # a curly apostrophe, as phones autocorrect it
    assert not is_gsm7(text)
    assert count_segments(text).encoding == "UCS-2"
    assert non_gsm7_characters("Zoë’s “trailer”") == ["ë", "’", "“", "”"]


def test_gsm7_alphabet_has_the_right_size_and_accents():
    assert len(GSM7_BASIC) == 127  # 128 codes minus ESC
    assert len(GSM7_EXTENSION) == 10
    assert is_gsm7("Muñoz Ærø Ölßen Ç")  # Ç is in the table, lowercase ç is not
    assert not is_gsm7("ç")
    assert is_gsm7("{[~]}|^\\€\f") and count_segments("{[~]}|^\\€\f").units == 20


# -- the texts CTIA asks for fit their budget (SPEC "Compliance in code") -------------------------------------

HELP_VARIANTS = ("HELP", "HELP_NO_DISPATCHER", "HELP_NO_ONE")
LONGEST_NAME = "N" * 100  # bot.business_fields.NAME_LIMIT


@pytest.mark.parametrize("name", HELP_VARIANTS)
def test_help_says_what_ctia_asks_within_two_segments_even_for_the_longest_name(name):
    from bot.conversation import texts

    body = getattr(texts, name).format(
        business=LONGEST_NAME, phone="(512) 555-0123", or_call=texts.OR_CALL.format(phone="(512) 555-0123")
    )
    assert LONGEST_NAME in body and "Msg & data rates may apply." in body and "Text STOP to opt out." in body
    if name != "HELP_NO_ONE":  # with no phone and no dispatcher there is no person to name
        assert "person" in body
    assert is_gsm7(body) and count_segments(body).segments <= 2


def test_the_opt_out_confirmation_is_one_gsm7_segment():
    from bot.conversation import texts

    body = texts.OPTED_OUT_BY_PHRASE.format(business="QuickDumpNow")
    assert body == "You won't get more texts from QuickDumpNow. Reply START to resume."
    assert is_gsm7(body) and count_segments(body).segments == 1
