"""The demo source's fields: its interpolation equals scipy's zoom bit for bit, so the demo
basin's pixels are those of every earlier release."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from gep.sources import demo


@pytest.mark.parametrize("shape", [(200, 200), (300, 300), (37, 91), (1000, 1537), (64, 64),
                                   (3, 5), (513, 250)])
def test_zoom_linear_equals_scipy_zoom_bit_for_bit(shape):
    rng = np.random.default_rng(sum(shape))
    lat = ndimage.gaussian_filter(rng.standard_normal((64, 64)), 3.0, mode="wrap")
    lat = (lat - lat.mean()) / lat.std()
    want = ndimage.zoom(lat, (shape[0] / 64, shape[1] / 64), order=1, mode="nearest",
                        grid_mode=True)[:shape[0], :shape[1]].astype(np.float32)
    got = demo._zoom_linear(lat, shape)
    assert got.dtype == np.float32 and got.shape == shape
    assert np.array_equal(got.view(np.uint32), want.view(np.uint32))


def test_lazy_fields_are_the_fields_of_a_full_build():
    """A field computed alone (as a year job does) equals the same field computed after all
    the others (as the parties job's order does): no field depends on evaluation order."""
    alone = demo._Basin(7, 120, 90)
    full = demo._Basin(7, 120, 90)
    for name in ("parties", "roads", "mask", "dem", "upstream", "reservoir", "n_lc"):
        getattr(full, name)
    assert np.array_equal(alone.landcover(2023), full.landcover(2023))
    assert np.array_equal(alone.precipitation(2022, 1800.0), full.precipitation(2022, 1800.0))
