from __future__ import annotations

import numpy as np
import pytest

from cairn.camera.compact import pack, unpack


def test_round_trip_keeps_the_residual_within_quantisation() -> None:
    values = np.random.default_rng(1).normal(0, 2.5, (64, 48)).astype(np.float32)
    packed = pack(values)
    restored = unpack(packed)
    assert restored.shape == (64, 48)
    assert float(np.abs(restored - values)[np.abs(values) < 15].max()) <= 6 * 2.5 / 127
    assert np.corrcoef(values.ravel(), restored.ravel())[0, 1] > 0.999
    assert len(packed) < values.size  # under a byte a pixel


def test_a_flat_array_packs() -> None:
    assert not unpack(pack(np.zeros((8, 8), np.float32))).any()


@pytest.mark.parametrize(
    "data", [b"", b"CPR1", b"XXXX" + bytes(16), pack(np.ones((4, 4), np.float32))[:-3]]
)
def test_damaged_bytes_are_a_value_error(data: bytes) -> None:
    with pytest.raises((ValueError, Exception)):
        unpack(data)
