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


STORED = ("mask", "dem", "river_d", "_up", "upstream", "city_d", "reservoir", "n_lc",
          "n_fine", "n_reforest", "n_urban")


def test_stored_fields_are_loaded_as_computed(tmp_path, monkeypatch):
    """A year job that finds the fields another job stored gets the same arrays (values,
    data type, shape), hence the same land cover and climate, and computes none of them."""
    store = tmp_path / "fields"
    first = demo._Basin(7, 120, 90, store=store)
    want = {"landcover": first.landcover(2023), "rain": first.precipitation(2022, 1800.0),
            "et0": first.reference_et(2022)}
    assert sorted(p.stem for p in store.glob("*.npy")) == sorted(STORED)
    assert not list(store.glob(".*"))                          # no temporary file left

    second = demo._Basin(7, 120, 90, store=store)
    computed = []
    for name in STORED:
        field = demo._Basin.__dict__[name]
        monkeypatch.setattr(field, "func", lambda basin, _f=field.func, _n=name:
                            computed.append(_n) or _f(basin))
    got = {"landcover": second.landcover(2023), "rain": second.precipitation(2022, 1800.0),
           "et0": second.reference_et(2022)}
    assert computed == []
    monkeypatch.undo()
    plain = demo._Basin(7, 120, 90)
    for name in STORED:
        a, b = getattr(second, name), getattr(plain, name)
        assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b), name
    for k in want:
        assert np.array_equal(got[k], want[k]), k
    assert np.array_equal(got["landcover"], plain.landcover(2023))


def test_unreadable_field_is_computed_again(tmp_path):
    store = tmp_path / "fields"
    assert demo._Basin(3, 40, 50, store=store).dem.size == 2000
    (store / "dem.npy").write_bytes(b"not an array")
    again = demo._Basin(3, 40, 50, store=store)
    assert np.array_equal(again.dem, demo._Basin(3, 40, 50).dem)
    assert np.array_equal(np.load(store / "dem.npy"), again.dem)   # and written anew


def test_store_key_names_basin_and_code(tmp_path, monkeypatch):
    keys = {demo.store_key(7, 120, 90), demo.store_key(8, 120, 90), demo.store_key(7, 90, 120)}
    assert len(keys) == 3
    assert demo.store_key(7, 120, 90) == demo.store_key(7, 120, 90)
    monkeypatch.setattr(np, "__version__", "0.0.0")
    demo.store_key.cache_clear()                # a new process, with another numpy
    try:
        assert demo.store_key(7, 120, 90) not in keys
    finally:
        monkeypatch.undo()
        demo.store_key.cache_clear()


def test_a_new_store_removes_other_basins_stores(tmp_path):
    old = tmp_path / demo.STORES / "older-code"
    assert (old / "mask.npy").exists() is False and demo._Basin(3, 40, 50, store=old).mask.any()
    new = tmp_path / demo.STORES / "this-code"
    assert demo._Basin(3, 40, 50, store=new).mask.any()
    assert [p.name for p in (tmp_path / demo.STORES).iterdir()] == ["this-code"]
