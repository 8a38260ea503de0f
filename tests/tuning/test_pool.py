"""The process pool (gep.tuning.pool) and the zonal-row replacement (gep.tuning.zonal)."""
from __future__ import annotations

import pandas as pd
import pytest

from gep.errors import InputDataError
from gep.tuning.errors import TuningError
from gep.tuning.pool import Pool
from gep.tuning.zonal import replace_variable


def square(x):
    return x * x


def refuse(x):
    raise InputDataError("f.csv", f"bad value {x}", "fix it")


@pytest.mark.parametrize("jobs", [1, 2])
def test_pool_keeps_order_and_reports_gep_errors_as_tuning_errors(jobs):
    pool = Pool(jobs)
    try:
        assert pool.map(square, [(i,) for i in range(7)]) == [i * i for i in range(7)]
        assert pool.submit(square, [(3,), (4,)])() == [9, 16]
        # the first failing task in order, with gep's one-line message
        with pytest.raises(TuningError, match=r"^f\.csv: bad value 1\. Fix: fix it$"):
            pool.map(refuse, [(1,), (2,)])
    finally:
        pool.close()


def zonal(q):
    return pd.DataFrame({"party_id": ["a", "a", "b"], "lucode": [10, 20, 10],
                         "variable": ["water_yield", "water_yield", "habitat_quality"],
                         "quantity": q, "nodata_pixels": [0, 0, 0]})


def test_replace_variable_swaps_only_that_variables_rows():
    rows = pd.DataFrame({"party_id": ["a", "a"], "lucode": [20, 10], "quantity": [2.0, 1.0],
                         "nodata_pixels": [5, 0]})
    out = replace_variable(zonal([9.0, 9.0, 7.0]), rows, "water_yield")
    assert out["quantity"].tolist() == [1.0, 2.0, 7.0]
    assert out["nodata_pixels"].tolist() == [0, 5, 0]
    with pytest.raises(TuningError, match="do not match the zonal bins"):
        replace_variable(zonal([9.0, 9.0, 7.0]), rows.iloc[:1], "water_yield")
