"""Phone numbers (network/phones.py): every spelling of one number is one E.164 address."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from vecinos.network.phones import InvalidPhone, normalize_phone

# Los Angeles area codes, exchanges 200-999, any line: the numbers neighbors give us.
numbers = st.tuples(
    st.sampled_from(["213", "323", "310", "424", "562", "626", "661", "747", "818"]),
    st.integers(200, 999),
    st.integers(0, 9999),
).map(lambda t: (t[0], f"{t[1]:03d}", f"{t[2]:04d}"))

SPELLINGS = [
    "{a}{e}{l}",
    "({a}) {e}-{l}",
    "{a}.{e}.{l}",
    "{a}-{e}-{l}",
    "+1 {a} {e} {l}",
    "1-{a}-{e}-{l}",
    "  +1({a}){e}{l}  ",
    "+1 ({a}) {e}-{l}",
]


@given(numbers, st.sampled_from(SPELLINGS), st.sampled_from(SPELLINGS))
def test_every_spelling_of_a_number_is_the_same_e164(number, one, other):
    a, e, line = number
    try:
        first = normalize_phone(one.format(a=a, e=e, l=line))
    except InvalidPhone:
        # Not every exchange is assigned; then no spelling of it may pass either.
        for spelling in SPELLINGS:
            try:
                normalize_phone(spelling.format(a=a, e=e, l=line))
            except InvalidPhone:
                continue
            raise AssertionError(f"{spelling} passed where {one} did not") from None
        return
    assert first == f"+1{a}{e}{line}"
    assert normalize_phone(other.format(a=a, e=e, l=line)) == first
    assert normalize_phone(first) == first  # idempotent: stored numbers normalize to themselves


@given(st.text(max_size=60))
def test_any_text_is_a_number_or_invalid_phone_never_a_crash(raw):
    try:
        e164 = normalize_phone(raw)
    except InvalidPhone:
        return
    assert e164.startswith("+") and e164[1:].isdigit()
    assert normalize_phone(e164) == e164
