"""What a demo job's modules import (issue 17: each job is one Python start-up, and pandas
alone costs about 0.4 s of CPU): the zonal sums need numpy and rasterio, not pandas."""
from __future__ import annotations

import subprocess
import sys


def _loaded(code: str, names: tuple[str, ...]) -> list[str]:
    probe = f"import sys\n{code}\nprint(' '.join(m for m in {names!r} if m in sys.modules))"
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                       check=True)
    return r.stdout.split()


def test_zonal_job_imports_no_pandas():
    assert _loaded("import gep.zonal", ("pandas", "geopandas", "numpy")) == ["numpy"]


def test_parties_table_is_index_to_party(tmp_path):
    from gep.zonal import read_parties_table

    f = tmp_path / "parties.csv"
    f.write_text("index,party_id,name\n2,down,Down\n1,up,Up\n", encoding="utf-8")
    table = read_parties_table(f)
    assert table == {2: "down", 1: "up"} and list(table) == [2, 1]


def test_acquire_year_imports_no_vector_stack():
    """The demo source's year and static layers are rasters: geopandas, shapely and pandas
    load only when the parties are acquired."""
    assert _loaded("import gep.acquire, gep.sources.demo",
                   ("pandas", "geopandas", "shapely", "rasterio")) == ["rasterio"]
