"""Bad-input catalogue, data half (issue 14): what a careless data clerk or a spreadsheet does
to the input tables of allocate, monitor, dispatch, classify, sweep/sensitivity/calibrate, zonal
and value. Each case runs the real ``gep`` command in a subprocess and asserts a clean refusal
(see harness.py): exit 2, one line naming the file and the field, no traceback, the output
folder (pre-populated with a previous good result where one is cheap) byte-identical.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .conftest import allocate_argv, dispatch_argv, monitor_argv, write
from .harness import Case, assert_refused


def copy_dir(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def edit(path: Path, old: str, new: str, count: int = 1, encoding: str = "utf-8") -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_bytes(text.replace(old, new, count).encode(encoding))


def reencode(path: Path, encoding: str, old: str | None = None, new: str | None = None):
    text = path.read_text(encoding="utf-8")
    if old is not None:
        assert old in text
        text = text.replace(old, new, 1)
    path.write_bytes(text.encode(encoding))


# -- allocate -------------------------------------------------------------------------------------
def _alloc(w: Path, tmp: Path, file: str, old: str | None, new: str | None,
           encoding: str = "utf-8", out: Path | None = None) -> tuple[Path, list]:
    inp = copy_dir(w / "alloc", tmp / "in")
    if old is not None or encoding != "utf-8":
        if old is None:
            reencode(inp / file, encoding)
        else:
            edit(inp / file, old, new, encoding=encoding)
    if out is None:
        out = copy_dir(w / "alloc_out", tmp / "out")
    return inp, allocate_argv(inp, out), out


def alloc_case(file: str, old, new, names: list[str], extra=(), encoding="utf-8"):
    def build(w, tmp):
        inp, argv, out = _alloc(w, tmp, file, old, new, encoding)
        return Case(argv, out, [str(inp / file), *names], extra=list(extra))
    return build


INC_2021 = "2021,shanyuan,water_conservation,15073519.10"
ALLOCATE = {
    "increments unquoted thousands separator": alloc_case(
        "increments.csv", INC_2021, "2021,shanyuan,water_conservation,15,073,519.10",
        ["line 2", "field 'delta_value_cny_constant'"], ["thousands separator",
                                                          "write 15073519.10"]),
    "increments quoted thousands separator": alloc_case(
        "increments.csv", INC_2021, '2021,shanyuan,water_conservation,"15,073,519.10"',
        ["line 2", "field 'delta_value_cny_constant'"], ["thousands separator"]),
    "increments party id in another case": alloc_case(
        "increments.csv", "2022,shanyuan,", "2022,Shanyuan,",
        ["field 'party_id'"], ["did you mean 'shanyuan'?"]),
    "increments service id in another case": alloc_case(
        "increments.csv", "2021,linxi,water_conservation", "2021,linxi,Water_Conservation",
        ["field 'service'"], ["did you mean 'water_conservation'?"]),
    "increments party not in the agreement": alloc_case(
        "increments.csv", "2023,nanzhou,", "2023,qingshan,",
        ["field 'party_id'"], ["'qingshan' is not an account"]),
    "increments 1e308": alloc_case(
        "increments.csv", "15073519.10", "1e308",
        ["field 'delta_value_cny_constant'"], ["absurdly large"]),
    "increments infinity": alloc_case(
        "increments.csv", "15073519.10", "inf",
        ["field 'delta_value_cny_constant'"], ["not a finite number"]),
    "increments decimal comma": alloc_case(
        "increments.csv", "15073519.10", '"15073519,10"',
        ["field 'delta_value_cny_constant'"], ["decimal comma"]),
    "increments renamed column": alloc_case(
        "increments.csv", "year,party_id,", "year,party,",
        ["line 1", "party_id"], ["'party' should read 'party_id'"]),
    "increments repeated column": alloc_case(
        "increments.csv", "delta_value_cny_constant\n", "delta_value_cny_constant,year\n",
        ["line 1", "year"], ["repeated column"]),
    "increments short line": alloc_case(
        "increments.csv", INC_2021, "2021,shanyuan,water_conservation",
        ["line 2"], ["3 fields but the header has 4"]),
    "increments year typed with a letter O": alloc_case(
        "increments.csv", INC_2021, INC_2021.replace("2021", "2O21"),
        ["line 2", "field 'year'"], ["not a year"]),
    "quality total nitrogen typed as 0": alloc_case(
        "quality.csv", "2023,boundary,tn,1.35", "2023,boundary,tn,0", [
            "field 'concentration_mg_l'"], ["missing value typed as 0", "plausible_mg_l"]),
    "quality in ug/L": alloc_case(
        "quality.csv", "2022,boundary,tp,0.027", "2022,boundary,tp,27",
        ["field 'concentration_mg_l'"], ["a value in µg/L?"]),
    "quality indicator in another case": alloc_case(
        "quality.csv", "2021,boundary,tn,", "2021,boundary,TN,",
        ["field 'indicator'"], ["did you mean 'tn'?"]),
    "quality section in another case": alloc_case(
        "quality.csv", "2021,boundary,codmn,", "2021,Boundary,codmn,",
        ["field 'section'"], ["did you mean 'boundary'?"]),
    "quality Latin-1 encoded": alloc_case(
        "quality.csv", "year,section,indicator,concentration_mg_l",
        "year,section,indicator,concentration_mg_l,note_é", [], ["not UTF-8 (byte 0xe9",
                                                                 "line 1"], encoding="latin-1"),
    "quality negative": alloc_case(
        "quality.csv", "2024,boundary,nh3n,0.120", "2024,boundary,nh3n,-0.1",
        ["field 'concentration_mg_l'"], ["below 0"]),
    "performance party in another case": alloc_case(
        "performance.csv", "2021,shanyuan,", "2021,ShanYuan,",
        ["line 2", "field 'party_id'"], ["did you mean 'shanyuan'?"]),
    "performance met is yes": alloc_case(
        "performance.csv", ",true", ",yes", ["line 2", "field 'met'"], ["not true or false"]),
    "performance GBK encoded": alloc_case(
        "performance.csv", "redline", "生态红线", [], ["not UTF-8", "line 2"], encoding="gbk"),
    "incidents Latin-1 description": alloc_case(
        "incidents.csv", ",spill", ",dégât des eaux", [], ["not UTF-8 (byte 0xe9 at line 2)"],
        encoding="latin-1"),
    "incidents unquoted thousands separator": alloc_case(
        "incidents.csv", "1000.00", "1,000.00", ["line 2", "field 'damage_cny'"],
        ["thousands separator"]),
    "incidents damage beyond 1e15": alloc_case(
        "incidents.csv", "1000.00", "2e15", ["line 2", "field 'damage_cny'"],
        ["absurdly large for an amount of money"]),
    "incidents party not in the agreement": alloc_case(
        "incidents.csv", ",xiahe,", ",xiahe_city,", ["field 'party_id'"],
        ["did you mean 'xiahe'?"]),
    "agreement base_payment 1e300": alloc_case(
        "agreement.yaml", "base_payment: 200000000", "base_payment: 1e300",
        ["base_payment"], ["less than or equal to"]),
    "agreement reward service in another case": alloc_case(
        "agreement.yaml", "services: [water_conservation,", "services: [Water_Conservation,",
        ["reward.services[0]"], ["did you mean 'water_conservation'?"]),
    "agreement saved as GB18030": alloc_case(
        "agreement.yaml", "name: Central government,", "name: Central government,",
        ["(encoding)"], ["not UTF-8"], encoding="gb18030"),
    "agreement plausible range upside down": alloc_case(
        "agreement.yaml", "  section: boundary\n", "  section: boundary\n"
        "  plausible_mg_l: {tn: [5, 1]}\n", ["water_quality_bet.plausible_mg_l.tn"],
        ["not a range"]),
}


def _alloc_out_is_a_file(w, tmp):
    target = write(tmp / "results.csv", "keep me\n")
    inp, argv, out = _alloc(w, tmp, "increments.csv", None, None, out=target)
    return Case(argv, target, [str(target), "field '--out'"], extra=["existing file"])


def _alloc_out_under_a_file(w, tmp):
    target = write(tmp / "results.csv", "keep me\n")
    inp, argv, out = _alloc(w, tmp, "increments.csv", None, None, out=target / "2024")
    return Case(argv, target, [str(target), "field '--out'"], extra=["lies under the file"])


def _alloc_increments_is_a_folder(w, tmp):
    inp, argv, out = _alloc(w, tmp, "increments.csv", None, None)
    (inp / "increments.csv").unlink()
    (inp / "increments.csv").mkdir()
    return Case(argv, out, [str(inp / "increments.csv")], extra=["is a folder"])


ALLOCATE.update({"--out is a file": _alloc_out_is_a_file,
                 "--out under a file": _alloc_out_under_a_file,
                 "increments path is a folder": _alloc_increments_is_a_folder})


@pytest.mark.parametrize("name", sorted(ALLOCATE))
def test_allocate_refuses(name, world, tmp_path):
    assert_refused(ALLOCATE[name](world, tmp_path))


# -- monitor --------------------------------------------------------------------------------------
def mon_case(file: str, old, new, names: list[str], extra=(), encoding="utf-8",
             out_file: bool = False):
    def build(w, tmp):
        inp = copy_dir(w / "mon", tmp / "in")
        if old is not None:
            edit(inp / file, old, new, encoding=encoding)
        if out_file:
            out = write(tmp / "mon.txt", "previous\n")
            names_ = [str(out), "field '--out'"]
        else:
            out = copy_dir(w / "mon_out", tmp / "out")
            names_ = [str(inp / file)]
        return Case(monitor_argv(inp, out), out, [*names_, *names], extra=list(extra))
    return build


MONITOR = {
    "stations GBK encoded": mon_case(
        "stations.csv", "bnd,,boundary", "bnd,,边界断面", [], ["not UTF-8", "line 2"],
        encoding="gbk"),
    "stations decimal comma": mon_case(
        "stations.csv", "118.9,29.8", '"118,9",29.8', ["line 2", "field 'lon'"],
        ["decimal comma"]),
    "stations unquoted decimal comma": mon_case(
        "stations.csv", "118.7,29.9", "118,7,29,9", ["line 3"],
        ["8 fields but the header has 6"]),
    "stations renamed column": mon_case(
        "stations.csv", "station,party_id", "station,party", ["line 1", "party_id"],
        ["unexpected column(s) party"]),
    "readings station in another case": mon_case(
        "readings.csv", "+08:00,bnd,tn,", "+08:00,BND,tn,", ["field 'station'"],
        ["did you mean 'bnd'?"]),
    "readings indicator in another case": mon_case(
        "readings.csv", "+08:00,up_out,tp,", "+08:00,up_out,TP,", ["field 'indicator'"],
        ["did you mean 'tp'?"]),
    "readings Latin-1 unit": mon_case(
        "readings.csv", "tp,0.0280,mg/L", "tp,28.0,µg/L", [], ["not UTF-8 (byte 0xb5"],
        encoding="latin-1"),
    "readings quoted thousands separator": mon_case(
        "readings.csv", "flow,49.0000,m3/s", 'flow,"1,049.0000",m3/s', ["field 'value'"],
        ["not a number"]),
    "readings unquoted thousands separator": mon_case(
        "readings.csv", "flow,49.0000,m3/s", "flow,1,049.0000,m3/s", [], ["malformed CSV"]),
    "configuration saved as GB18030": mon_case(
        "monitoring.yaml", "name_zh: 氨氮", "name_zh: 氨氮", ["(encoding)"], ["not UTF-8"],
        encoding="gb18030"),
    "--out is a file": mon_case("readings.csv", None, None, [], ["existing file"],
                                out_file=True),
}


@pytest.mark.parametrize("name", sorted(MONITOR))
def test_monitor_refuses(name, mon_world, tmp_path):
    assert_refused(MONITOR[name](mon_world, tmp_path))


# -- dispatch -------------------------------------------------------------------------------------
def disp_case(file: str | None, old, new, names: list[str], extra=(), encoding="utf-8",
              argv_extra=(), out_file: bool = False):
    def build(w, tmp):
        inp = copy_dir(w / "disp", tmp / "in")
        if old is not None:
            edit(inp / file, old, new, encoding=encoding)
        if out_file:
            out = write(tmp / "disp.txt", "previous\n")
            names_ = [str(out), "field '--out'"]
        else:
            out = copy_dir(w / "disp_out", tmp / "out")
            names_ = [str(inp / file)]
        return Case(dispatch_argv(inp, out, *argv_extra), out, [*names_, *names],
                    extra=list(extra))
    return build


DISPATCH = {
    "entitlement year without a settlement": disp_case(
        "transfers.csv", None, None, ["field 'year'"], ["no settlement for 2019",
                                                        "years settled: 2021"],
        argv_extra=("--entitlement-year", "2019")),
    "transfers decimal comma": disp_case(
        "transfers.csv", "x,2021,base,central,up_a,365.00", 'x,2021,base,central,up_a,"365,00"',
        ["line 2", "field 'amount_cny'"], ["decimal comma"]),
    "transfers account in another case": disp_case(
        "transfers.csv", "y,2021,base,down,up_a", "y,2021,base,down,UP_A",
        ["line 3", "field 'to_account'"], ["did you mean 'up_a'?"]),
    "transfers amount 1e300": disp_case(
        "transfers.csv", "x,2021,base,central,up_a,365.00", "x,2021,base,central,up_a,1e300",
        ["line 2", "field 'amount_cny'"], ["absurdly large"]),
    "quality total nitrogen 0": disp_case(
        "quality.csv", None, None, ["field 'concentration_mg_l'"],
        ["missing value typed as 0"]),
    "quality in ug/L": disp_case(
        "quality.csv", None, None, ["field 'concentration_mg_l'"], ["a value in µg/L?"]),
    "daily index GBK encoded": disp_case(
        "daily_index.csv", None, None, [], ["not UTF-8"], encoding="gbk"),
    "daily index party in another case": disp_case(
        "daily_index.csv", None, None, ["field 'party_id'"], ["did you mean 'up_a'?"]),
    "--out is a file": disp_case(None, None, None, [], ["existing file"], out_file=True),
}


def _quality_tn(value: str):
    def patch(inp: Path):
        lines = (inp / "quality.csv").read_text(encoding="utf-8").splitlines()
        out = [ln if not ln.startswith("2021,boundary,tn,") else f"2021,boundary,tn,{value}"
               for ln in lines]
        assert out != lines
        (inp / "quality.csv").write_text("\n".join(out) + "\n", encoding="utf-8")
    return patch


def _daily_gbk(inp: Path):
    """A clerk's note in Chinese in the reason field, saved by a GBK spreadsheet."""
    p = inp / "daily_index.csv"
    header, first, rest = p.read_text(encoding="utf-8").split("\n", 2)
    fields = first.split(",")
    fields[header.split(",").index("reason")] = "传感器故障"
    p.write_bytes("\n".join([header, ",".join(fields), rest]).encode("gbk"))


def _daily_case(inp: Path):
    p = inp / "daily_index.csv"
    text = p.read_text(encoding="utf-8")
    assert ",up_a," in text
    p.write_text(text.replace(",up_a,", ",Up_A,", 1), encoding="utf-8")


PATCHES = {"quality total nitrogen 0": _quality_tn("0"),
           "quality in ug/L": _quality_tn("1000"),
           "daily index GBK encoded": _daily_gbk,
           "daily index party in another case": _daily_case}


@pytest.mark.parametrize("name", sorted(DISPATCH))
def test_dispatch_refuses(name, mon_world, tmp_path):
    case = DISPATCH[name](mon_world, tmp_path)
    if name in PATCHES:
        PATCHES[name](tmp_path / "in")
    assert_refused(case)


# -- classify -------------------------------------------------------------------------------------
def _classify_argv(w: Path, training: Path, out: Path, *extra) -> list:
    return ["classify", "--imagery", w / "img.tif", "--training", training, "--out-dir", out,
            "--n-estimators", "10", *extra]


def _training_half_outside(w, tmp):
    import geopandas as gpd
    from shapely.geometry import Point

    pts = gpd.read_file(w / "train.gpkg")
    half = len(pts) // 2
    pts.loc[pts.index[:half], "geometry"] = [Point(g.x + 1e5, g.y) for g in pts.geometry[:half]]
    pts.to_file(tmp / "t.gpkg")
    out = copy_dir(w / "lc_out", tmp / "out")
    return Case(_classify_argv(w, tmp / "t.gpkg", out), out,
                [str(tmp / "t.gpkg"), "field 'geometry'"],
                extra=[f"{half} of {len(pts)} training points lie outside the imagery"])


def _training_missing_label(w, tmp):
    import geopandas as gpd
    import numpy as np

    pts = gpd.read_file(w / "train.gpkg")
    pts["class"] = pts["class"].astype(float)
    pts.loc[pts.index[5], "class"] = np.nan
    pts.to_file(tmp / "t.gpkg")
    out = copy_dir(w / "lc_out", tmp / "out")
    return Case(_classify_argv(w, tmp / "t.gpkg", out), out,
                [str(tmp / "t.gpkg"), "field 'class'"], extra=["no geometry or no label"])


def _classify_out_is_a_file(w, tmp):
    out = write(tmp / "landcover", "previous\n")
    return Case(_classify_argv(w, w / "train.gpkg", out), out,
                [str(out), "field '--out-dir'"], extra=["existing file"])


def _classify_landcover_out_is_a_folder(w, tmp):
    out = copy_dir(w / "lc_out", tmp / "out")
    return Case(_classify_argv(w, w / "train.gpkg", out, "--landcover-out", out), out,
                [str(out), "field '--landcover-out'"], extra=["existing folder"])


CLASSIFY = {"training points half outside the imagery": _training_half_outside,
            "training point without a label": _training_missing_label,
            "--out-dir is a file": _classify_out_is_a_file,
            "--landcover-out is a folder": _classify_landcover_out_is_a_folder}


@pytest.mark.parametrize("name", sorted(CLASSIFY))
def test_classify_refuses(name, lc_world, tmp_path):
    assert_refused(CLASSIFY[name](lc_world, tmp_path))


# -- sweep, sensitivity, calibrate ----------------------------------------------------------------
def _observed(tmp: Path, text: str, encoding="utf-8") -> Path:
    return write(tmp / "observed.csv", text, encoding)


OBS_OK = ("year,station,runoff_m3\n2020,shanyuan_gauge,14972922\n2020,linxi_gauge,21118602\n"
          "2021,shanyuan_gauge,15972922\n")


def _calibrate(obs_text: str, names, extra, encoding="utf-8"):
    def build(cfg: Path, tmp: Path):
        obs = _observed(tmp, obs_text, encoding)
        out = write(tmp / "out" / "calibration.json", "{}\n").parent
        return Case(["calibrate", "--config", cfg, "--observed", obs, "--out", out, "--quiet"],
                    out,
                    [str(obs), *names], extra=list(extra))
    return build


def _sweep(params: list[str], names, extra, key_in_tuning=False):
    def build(cfg: Path, tmp: Path):
        out = write(tmp / "out" / "sweep.csv", "previous\n").parent
        argv = ["sweep", "--config", cfg, "--out", out, "--no-plots", "--quiet"]
        for p in params:
            argv += ["--param", p]
        file = cfg.parent / "tuning.yaml" if key_in_tuning else cfg
        return Case(argv, out, [str(file), *names], extra=list(extra))
    return build


def _sweep_out_is_a_file(cfg: Path, tmp: Path):
    out = write(tmp / "sweep.csv", "previous\n")
    return Case(["sweep", "--config", cfg, "--out", out, "--param", "reward.rate=0.1,0.2",
                 "--quiet"],
                out, [str(out), "field '--out'"], extra=["existing file"])


def _sensitivity_out_is_a_file(cfg: Path, tmp: Path):
    out = write(tmp / "sensitivity.csv", "previous\n")
    return Case(["sensitivity", "--config", cfg, "--out", out, "--quiet"], out,
                [str(out), "field '--out'"], extra=["existing file"])


def _calibrate_out_is_a_file(cfg: Path, tmp: Path):
    obs = _observed(tmp, OBS_OK)
    out = write(tmp / "calibration.json", "{}\n")
    return Case(["calibrate", "--config", cfg, "--observed", obs, "--out", out, "--quiet"],
                out, [str(out), "field '--out'"], extra=["existing file"])


TUNING = {
    "calibrate --out is a file": _calibrate_out_is_a_file,
    "sweep range of 100000 values": _sweep(
        ["seasonality_constant=1:30:100000"], ["--param seasonality_constant"],
        ["100000 values"]),
    "sweep beyond max_combinations": _sweep(
        ["seasonality_constant=1:30:1000", "reward.rate=0.1:0.2:10"],
        ["sweep.max_combinations"], ["10,000 combinations"], key_in_tuning=True),
    "sweep --out is a file": _sweep_out_is_a_file,
    "sensitivity --out is a file": _sensitivity_out_is_a_file,
    "calibrate unquoted thousands separator": _calibrate(
        OBS_OK.replace("14972922", "14,972,922"), ["line 2", "field 'runoff_m3'"],
        ["thousands separator", "write 14972922"]),
    "calibrate station in another case": _calibrate(
        OBS_OK.replace("2020,linxi_gauge", "2020,Linxi_Gauge"), ["line 3", "field 'station'"],
        ["did you mean 'linxi_gauge'?"]),
    "calibrate Latin-1 encoded": _calibrate(
        OBS_OK + "2021,linxi_gauge,21118602\n2021,yunling_gauge,débit\n", [],
        ["not UTF-8 (byte 0xe9 at line 6)"], encoding="latin-1"),
    "calibrate runoff not finite": _calibrate(
        OBS_OK.replace("21118602", "NaN"), ["line 3", "field 'runoff_m3'"],
        ["not a finite number"]),
}


@pytest.mark.parametrize("name", sorted(TUNING))
def test_tuning_refuses(name, basin_world, tmp_path):
    assert_refused(TUNING[name](basin_world, tmp_path))


# -- zonal and value ------------------------------------------------------------------------------
def _basin_copy(basin: Path, tmp: Path) -> tuple[Path, Path]:
    """A copy of the tiny basin (config and inputs) whose results_dir is inside ``tmp``."""
    cdir = copy_dir(basin.parent, tmp / "config")
    cfg = cdir / "config.yaml"
    old_results = basin.parents[1] / "results"
    cfg.write_text(cfg.read_text(encoding="utf-8").replace(str(old_results),
                                                           str(tmp / "results")),
                   encoding="utf-8")
    shutil.copytree(old_results, tmp / "results")
    return cfg, tmp / "results" / "demo"


def _zonal_case(mutate, names, extra):
    def build(basin: Path, tmp: Path):
        cfg, root = _basin_copy(basin, tmp)
        parties = root / "inputs" / "parties.csv"
        mutate(parties)
        out = write(root / "gep" / "zonal" / "2019.csv", "previous\n").parent
        return Case(["zonal", "--config", cfg, "--year", "2020"], out, [str(parties), *names],
                    extra=list(extra))
    return build


def _gbk_names(p: Path):
    p.write_bytes(p.read_text(encoding="utf-8-sig").encode("gbk"))


def _dup_index(p: Path):
    lines = p.read_text(encoding="utf-8-sig").splitlines()
    idx = lines[0].split(",").index("index")
    f = lines[2].split(",")
    f[idx] = lines[1].split(",")[idx]
    lines[2] = ",".join(f)
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _word_index(p: Path):
    lines = p.read_text(encoding="utf-8-sig").splitlines()
    idx = lines[0].split(",").index("index")
    f = lines[1].split(",")
    f[idx] = "one"
    lines[1] = ",".join(f)
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")


ZONAL_HEADER = "year,party_id,lucode,variable,quantity,unit,nodata_pixels\n"


def _value_case(zonal_2020: str, names, extra, encoding="utf-8", runoff=None):
    def build(basin: Path, tmp: Path):
        from gep.config import load_config

        cfg, root = _basin_copy(basin, tmp)
        z = root / "gep" / "zonal"
        good = ZONAL_HEADER + "2021,shanyuan,10,area,12.5,ha,0\n"
        write(z / "2021.csv", good)
        bad = write(z / "2020.csv", ZONAL_HEADER + zonal_2020, encoding)
        write(root / "gep" / "gep_by_party.csv", "previous\n")
        write(root / "gep" / "increments.csv", "previous\n")
        named = bad
        if runoff is not None:
            named = load_config(cfg).path(load_config(cfg).valuation.runoff_coefficients)
            edit(named, *runoff)
        return Case(["value", "--config", cfg], root / "gep", [str(named), *names],
                    extra=list(extra))
    return build


BASIN = {
    "zonal parties table GBK encoded": _zonal_case(_gbk_names, [], ["not UTF-8"]),
    "zonal parties index used twice": _zonal_case(_dup_index, ["line 3", "field 'index'"],
                                                  ["used twice"]),
    "zonal parties index is a word": _zonal_case(_word_index, ["line 2", "field 'index'"],
                                                 ["'one' is not"]),
    "value zonal unquoted thousands separator": _value_case(
        "2020,shanyuan,10,area,1,234.5,ha,0\n", ["line 2", "field 'quantity'"],
        ["thousands separator"]),
    "value zonal Latin-1 encoded": _value_case(
        "2020,shanyuan,10,area,12.5,ha,0\n2020,linxi,10,area,3.0,hé,0\n", [],
        ["not UTF-8 (byte 0xe9 at line 3)"], encoding="latin-1"),
    "value zonal lucode is a word": _value_case(
        "2020,shanyuan,tree,area,12.5,ha,0\n", ["line 2", "field 'lucode'"], ["not"]),
    "value runoff coefficient decimal comma": _value_case(
        "2020,shanyuan,10,area,12.5,ha,0\n", ["line 2", "field 'runoff_coefficient'"],
        ["decimal comma"], runoff=("10,0.0267,", '10,"0,0267",')),
}


@pytest.mark.parametrize("name", sorted(BASIN))
def test_zonal_and_value_refuse(name, basin_world, tmp_path):
    assert_refused(BASIN[name](basin_world, tmp_path))


def test_catalogue_is_large_enough():
    n = sum(len(d) for d in (ALLOCATE, MONITOR, DISPATCH, CLASSIFY, TUNING, BASIN))
    assert n >= 45, n


def test_money_columns_of_the_good_results_are_exact_to_the_fen(world, mon_world):
    """Every *_cny column gep wrote for people in the catalogue's good runs (transfers,
    statement, disbursements, alerts, settlement, ledger transfers) is an exact amount with
    two decimals, and each year's statement sums to exactly zero."""
    import csv
    import re
    from decimal import Decimal

    files = sorted((world / "alloc_out").glob("*.csv")) + sorted(
        (mon_world / "disp_out").glob("*.csv"))
    checked = 0
    for f in files:
        with open(f, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
        for col in [c for c in (rows[0] if rows else {}) if c.endswith("_cny")]:
            for r in rows:
                assert re.fullmatch(r"-?\d+\.\d\d", r[col]), (f.name, col, r[col])
                checked += 1
    assert checked > 100
    with open(world / "alloc_out" / "statement.csv", newline="", encoding="utf-8-sig") as fh:
        by_year: dict[str, Decimal] = {}
        for r in csv.DictReader(fh):
            by_year[r["year"]] = by_year.get(r["year"], Decimal(0)) + Decimal(r["amount_cny"])
    assert sorted(by_year) == ["2021", "2022", "2023", "2024"]
    assert all(v == 0 for v in by_year.values()), by_year
