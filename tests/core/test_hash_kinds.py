"""The one table of hash kinds: exact values, since every reader, index and export trusts them."""

from __future__ import annotations

import hashlib
from typing import get_args

import pytest

from cairn.core.hash_kinds import (
    BY_NAME,
    DIGEST_NAMES,
    DIGESTS,
    HASH_KINDS,
    KNOWN_HASH_NAMES,
    KNOWN_HASHES,
    MD5,
    PDQ,
    PERCEPTUAL,
    SHA1,
    SHA256,
    VPDQ,
    HashKind,
    HashName,
)


def test_the_table_holds_each_kind_with_its_exact_facts() -> None:
    rows = [(k.name, k.label, k.hex_length, k.key_bytes, k.perceptual) for k in HASH_KINDS]
    assert rows == [
        ("md5", "MD5", 32, 16, False),
        ("sha1", "SHA-1", 40, 20, False),
        ("sha256", "SHA-256", 64, 32, False),
        ("pdq", "PDQ", 64, 32, True),
        ("vpdq", "vPDQ", 64, 32, True),
    ]


def test_the_groupings_keep_the_order_records_and_exports_use() -> None:
    assert DIGESTS == (MD5, SHA1, SHA256)
    assert DIGEST_NAMES == ("md5", "sha1", "sha256")
    assert KNOWN_HASHES == (MD5, SHA1, SHA256, PDQ)
    assert KNOWN_HASH_NAMES == ("md5", "sha1", "sha256", "pdq")
    assert frozenset({"pdq", "vpdq"}) == PERCEPTUAL
    assert BY_NAME == {"md5": MD5, "sha1": SHA1, "sha256": SHA256, "pdq": PDQ, "vpdq": VPDQ}


def test_the_type_checkers_names_are_the_tables_names() -> None:
    assert get_args(HashName) == tuple(kind.name for kind in HASH_KINDS)


@pytest.mark.parametrize("kind", DIGESTS, ids=DIGEST_NAMES)
def test_digest_widths_are_hashlibs(kind: HashKind) -> None:
    digest = hashlib.new(kind.name, b"cairn")
    assert digest.digest_size == kind.key_bytes
    assert len(digest.hexdigest()) == kind.hex_length


def test_a_kind_is_immutable() -> None:
    with pytest.raises(AttributeError):
        MD5.key_bytes = 20  # type: ignore[misc]
