"""Chinese in charts (no missing glyph anywhere), and the one logging configuration."""
from __future__ import annotations

import io
import logging
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from gep import log
from gep.cli import build_parser, main, verbosity

NAMES = {"linxi": "林溪县 Linxi County", "xiahe": "下河市 Xiahe City"}


def test_cjk_font_first_in_the_chain():
    from gep.fonts import CJK_FONTS, configure_matplotlib

    chain = configure_matplotlib()
    import matplotlib

    assert chain[0] == "Noto Sans CJK SC", "fonts-noto-cjk missing: run make fonts-deps"
    assert matplotlib.rcParams["font.sans-serif"][:len(chain)] == chain
    assert set(chain) & set(CJK_FONTS)


def test_missing_glyph_fails_the_suite():
    """The suite's filterwarnings turns matplotlib's missing-glyph warning into an error."""
    from gep.report import charts

    fig, ax = charts.plt.subplots()
    ax.set_title("\ue000")  # a private-use character no font draws
    with pytest.raises(UserWarning, match="missing from"):
        charts.png(fig)


def _parties():
    return gpd.GeoDataFrame(
        {"party_id": ["linxi", "xiahe"], "name": ["Linxi County", "Xiahe City"],
         "name_zh": ["林溪县", "下河市"], "role": ["upstream", "downstream"]},
        geometry=[box(0, 0, 1000, 1000), box(1000, 0, 2000, 1000)], crs="EPSG:32650")


def test_every_report_chart_renders_chinese_without_missing_glyphs(tmp_path):
    """Every chart of the report and of the monitoring section, drawn with Chinese names;
    any missing glyph would raise (see pyproject filterwarnings) and is also checked here."""
    from gep.landcover import plot_confusion_matrix
    from gep.monitoring import plots
    from gep.report import SERVICE_NAMES, charts, service_label
    from gep.sources.base import Grid, write_raster

    gep = pd.DataFrame({"year": [2020, 2020, 2021, 2021] * 2,
                        "party_id": ["linxi", "xiahe"] * 4,
                        "service": ["water_conservation"] * 4 + ["biodiversity"] * 4,
                        "value_cny_constant": np.arange(8) * 1e5 + 1e6})
    grid = Grid("EPSG:32650", 0.0, 1000.0, 10.0, 200, 100)
    lc = np.full((100, 200), 10, np.uint8)
    lc[:, 100:] = 50
    write_raster(tmp_path / "lc.tif", lc, grid, 255, "uint8")
    write_raster(tmp_path / "wy.tif", np.linspace(0, 1, 20000, dtype="float32").reshape(
        100, 200), grid, -9999.0)
    parties = _parties()
    parties.to_file(tmp_path / "parties.gpkg")
    pd.DataFrame({"year": [2021, 2021], "party_id": ["linxi", "linxi"],
                  "target": ["water_quality_compliance_rate", "flow_compliance_rate"],
                  "met": ["true", "false"], "value": [0.9, 0.7], "threshold": [0.8, 0.9],
                  "unit": ["share of days"] * 2}).to_csv(tmp_path / "perf.csv", index=False)
    pd.DataFrame({"date": ["2021-01-01", "2021-01-02"], "section": ["林溪断面"] * 2,
                  "index": [0.8, 0.4], "anomaly": ["false", "true"],
                  "party_id": ["linxi"] * 2}).to_csv(tmp_path / "daily.csv", index=False)
    metrics = {"labels": [10, 50], "confusion_matrix": [[5, 1], [0, 7]],
               "overall_accuracy": 12 / 13, "kappa": 0.84, "n_test": 13}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pngs = [
            charts.gep_trend(gep, NAMES, {s: service_label(s) for s in SERVICE_NAMES}),
            charts.party_map(parties, {"linxi": 1.0, "xiahe": -2.0}, "2021 年 GEP 变化", "元",
                             diverging=True, labels=NAMES),
            charts.raster_map(tmp_path / "wy.tif", "2021 年产水量", "毫米 mm", "Blues"),
            charts.landcover_map(tmp_path / "lc.tif", "2021 年土地覆被"),
        ]
        plots.responsibility_map(tmp_path / "perf.csv", tmp_path / "parties.gpkg", 2021,
                                 tmp_path / "resp.png")
        plots.daily_index_chart(tmp_path / "daily.csv", [], tmp_path / "daily.png")
        plot_confusion_matrix(metrics, tmp_path / "cm.png", title="混淆矩阵 confusion")
    missing = [str(w.message) for w in caught if "missing from" in str(w.message)]
    assert missing == []
    assert all(p.startswith(b"\x89PNG") for p in pngs)


def test_verbose_and_quiet_on_every_command(repo, capsys):
    cfg = str(repo / "config" / "config.yaml")
    parser = build_parser()
    a = parser.parse_args(["-v", "validate-config", "--config", cfg])
    assert verbosity(a) == 1
    a = parser.parse_args(["validate-config", "-q", "--config", cfg])
    assert verbosity(a) == -1
    a = parser.parse_args(["-v", "validate-config", "-v", "--config", cfg])
    assert verbosity(a) == 2
    assert verbosity(parser.parse_args(["validate-config"])) == 0
    # a sub-command's own --quiet (tuning) still belongs to it; -q is the global one
    a = parser.parse_args(["sweep", "--quiet", "-q"])
    assert a.quiet is True and verbosity(a) == -1
    for sub in ("run", "invest", "zonal", "report", "gis", "allocate", "monitor", "ledger"):
        if sub in parser._subparsers._group_actions[0].choices:
            p = parser._subparsers._group_actions[0].choices[sub]
            assert "-v" in p._option_string_actions and "-q" in p._option_string_actions


def test_console_levels_and_log_file(repo, tmp_path, capsys):
    cfg = str(repo / "config" / "config.yaml")
    lf = tmp_path / "gep.log"
    assert main(["-q", "validate-config", "--config", cfg, "--log-file", str(lf)]) == 0
    logging.getLogger("natcap.invest.test").info("invest says hello")
    logging.getLogger("natcap.invest.test").warning("invest warns")
    err = capsys.readouterr().err
    assert "invest warns" in err and "invest says hello" not in err
    assert "invest says hello" in lf.read_text() and "invest warns" in lf.read_text()
    assert main(["validate-config", "--config", cfg]) == 0
    logging.getLogger("natcap.invest.test").info("invest informs")
    logging.getLogger("natcap.invest.test").debug("invest details")
    err = capsys.readouterr().err
    assert "invest informs" in err and "invest details" not in err
    assert main(["-v", "validate-config", "--config", cfg]) == 0
    logging.getLogger("natcap.invest.test").debug("invest details")
    assert "invest details" in capsys.readouterr().err
    gep_handlers = [h for h in logging.getLogger().handlers if getattr(h, "_gep", False)]
    assert len(gep_handlers) == 1  # re-configuring replaced, not stacked


def test_progress_quiet_off_a_terminal_and_with_q():
    log.configure(0, stream=io.StringIO())
    buf = io.StringIO()  # not a TTY
    bar = log.progress(range(3), file=buf)
    assert list(bar) == [0, 1, 2] and buf.getvalue() == ""
    log.configure(-1, stream=io.StringIO())
    assert log.progress(range(3)).disable is True
    with log.invest_progress("carbon", 2021) as b:
        logging.getLogger("natcap.invest.carbon").info("step")
        assert b.disable
    log.configure(0)


def test_invest_bar_on_a_terminal(monkeypatch):
    """On a terminal the InVEST bar follows InVEST's messages (count and latest step) and
    keeps InVEST's INFO lines off the console; warnings and gep's own lines still print."""
    import sys

    class Tty(io.StringIO):
        def isatty(self):
            return True

    console, bar_out = Tty(), Tty()
    monkeypatch.setattr(sys, "stderr", bar_out)
    log.configure(0, stream=console)
    try:
        with log.invest_progress("carbon", 2021) as bar:
            assert not bar.disable
            logging.getLogger("natcap.invest.carbon").info("computing carbon pools")
            logging.getLogger("natcap.invest.carbon").warning("a threat raster is empty")
            logging.getLogger("gep.invest").info("gep line")
            assert bar.n == 2 and "a threat raster is empty" in bar.postfix
        text = console.getvalue()
        assert "computing carbon pools" not in text
        assert "a threat raster is empty" in text and "gep line" in text
        assert "InVEST carbon 2021" in bar_out.getvalue()
        # the filter is gone after the run
        logging.getLogger("natcap.invest.carbon").info("after the run")
        assert "after the run" in console.getvalue()
    finally:
        log.configure(0)
