import math
import re

import pytest

from bot.tokens import ALPHABET, LENGTH, format_token, new_token, normalize_token


def test_token_has_at_least_80_bits_from_an_unambiguous_alphabet():
    assert LENGTH * math.log2(len(ALPHABET)) >= 80
    assert not set("01OIL") & set(ALPHABET)
    token = new_token()
    assert re.fullmatch(r"[23456789A-HJKMNP-Z]{4}(-[23456789A-HJKMNP-Z]{4}){4}", token)


def test_tokens_are_unique_over_ten_thousand():
    tokens = {new_token() for _ in range(10_000)}
    assert len(tokens) == 10_000


def test_tokens_are_not_sequential_or_share_a_prefix():
    tokens = [new_token() for _ in range(200)]
    prefixes = {t[:4] for t in tokens}
    assert len(prefixes) > 150  # 31**4 possible first groups


@pytest.mark.parametrize(
    "typed",
    [
        "{t}",
        "{lower}",
        "{nosep}",
        "  {spaced}  ",
        "{nosep_lower}",
        "{t}\n",
    ],
)
def test_lookup_form_ignores_case_separators_and_spaces(typed):
    token = new_token()
    raw = token.replace("-", "")
    text = typed.format(
        t=token,
        lower=token.lower(),
        nosep=raw,
        spaced=" ".join(raw[i : i + 4] for i in range(0, 20, 4)),
        nosep_lower=raw.lower(),
    )
    assert normalize_token(text) == token


@pytest.mark.parametrize(
    "text",
    ["", "STATUS", "1042", "K7M2-9XPQ-2HTR-4VWA", "O7M2-9XPQ-2HTR-4VWA-C3DF", "K7M2-9XPQ-2HTR-4VWA-C3DF-X", "💩" * 20],
)
def test_not_a_token(text):
    assert normalize_token(text) is None


def test_format_groups_by_four():
    assert format_token("ABCDEFGHJKMNPQRSTUVW") == "ABCD-EFGH-JKMN-PQRS-TUVW"
