"""Free text from the public as it is kept and shown: without the invisible characters that
change how the text around them is displayed.

A report's description holding U+202E (RIGHT-TO-LEFT OVERRIDE) showed the rest of it reversed on
the console and the verifier's page ("desrever"): a stranger could make a verifier read something
other than what was written. The explicit direction controls (embeddings, overrides, isolates)
and the other control characters are dropped; line breaks and tabs stay, and so do the marks
that only hint a direction (U+200E, U+200F, U+061C), which Arabic and Persian text uses.
"""

from __future__ import annotations

import re

# C0 and C1 controls but tab and line breaks; the bidi embeddings, overrides and isolates.
_HIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def visible(text: str) -> str:
    """The text without direction overrides and control characters, stripped at both ends."""
    return _HIDDEN.sub("", text or "").strip()
