"""The public tokens of ledger rows: made one at a time or a batch at once, they look alike and never repeat."""

from __future__ import annotations

import re

from bot.delivery.outbox import new_token, new_tokens

URL_SAFE_16 = re.compile(r"^[A-Za-z0-9_-]{16}$")


def test_a_batch_of_tokens_looks_like_single_tokens_and_none_repeats():
    batch = new_tokens(1000)
    assert len(batch) == 1000 and len(set(batch)) == 1000
    assert all(URL_SAFE_16.match(token) for token in [*batch, new_token()])
    assert new_tokens(0) == [] and len(new_tokens(1)) == 1
