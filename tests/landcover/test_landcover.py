"""Land-cover classification: accuracy on synthetic demo imagery, metrics recomputed
independently, grouped splits for polygons, flat prediction memory, clear input errors."""
from __future__ import annotations

import argparse
import csv
import json
import tracemalloc

import geopandas as gpd
import joblib
import matplotlib.image
import numpy as np
import pytest
import rasterio
from scipy.ndimage import gaussian_filter
from shapely.geometry import Point, box
from sklearn.metrics import (
    accuracy_score,
    cohen_kappa_score,
    confusion_matrix,
    precision_score,
    recall_score,
)

from gep import landcover as L
from gep.pipeline import classify as landcover_cli
from gep.errors import ConfigError, InputDataError
from gep.sources.base import Grid, write_raster

UTM = "EPSG:32650"
CODES = np.array([10, 20, 30, 40, 50, 60, 80, 90])
# Stated thresholds for the synthetic demo imagery (documented in docs/landcover.md).
MIN_OVERALL_ACCURACY = 0.85
MIN_KAPPA = 0.80


def make_landcover(path, size=200, seed=1, nodata_corner=True) -> Grid:
    """Patchy WorldCover map: argmax of smoothed noise fields, one per class."""
    rng = np.random.default_rng(seed)
    fields = np.stack([gaussian_filter(rng.standard_normal((size, size)), 6) for _ in CODES])
    lc = CODES[fields.argmax(0)].astype("uint8")
    if nodata_corner:
        lc[:10, :10] = 255
    grid = Grid(UTM, 700_000.0, 3_310_000.0, 30.0, size, size)
    write_raster(path, lc, grid, 255, "uint8")
    return grid


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("lc")
    make_landcover(d / "lc.tif")
    L.demo_imagery(d / "lc.tif", d / "img.tif", d / "train.gpkg", seed=3)
    paths = L.classify(d / "img.tif", d / "train.gpkg", d / "out", n_estimators=60, seed=0)
    return d, paths


def my_features(vals: np.ndarray) -> np.ndarray:
    """Bands + NDVI, NDWI, NDBI written out independently of gep.landcover."""
    blue, green, red, nir, swir1, swir2 = vals
    ndvi = (nir - red) / (nir + red)
    ndwi = (green - nir) / (green + nir)
    ndbi = (swir1 - nir) / (swir1 + nir)
    return np.column_stack([blue, green, red, nir, swir1, swir2, ndvi, ndwi, ndbi])


def read_samples(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_demo_accuracy_above_threshold(demo_run):
    _, paths = demo_run
    m = json.loads(paths["metrics"].read_text())
    assert m["overall_accuracy"] >= MIN_OVERALL_ACCURACY
    assert m["kappa"] >= MIN_KAPPA
    assert m["labels"] == sorted(CODES.tolist())


def test_saved_metrics_match_independent_computation(demo_run):
    d, paths = demo_run
    rows = read_samples(paths["samples"])
    test = [r for r in rows if r["split"] == "test"]
    train = [r for r in rows if r["split"] == "train"]
    assert {(r["x"], r["y"]) for r in test}.isdisjoint({(r["x"], r["y"]) for r in train})
    xy = [(float(r["x"]), float(r["y"])) for r in test]
    y_true = np.array([int(r["label"]) for r in test])
    with rasterio.open(d / "img.tif") as ds:
        vals = np.array(list(ds.sample(xy))).T.astype("float64")
    model = joblib.load(paths["model"])["model"]
    y_pred = model.predict(my_features(vals))
    m = json.loads(paths["metrics"].read_text())
    labels = m["labels"]
    assert m["n_test"] == len(test) and m["n_train"] == len(train)
    assert m["overall_accuracy"] == pytest.approx(accuracy_score(y_true, y_pred), abs=1e-12)
    assert m["kappa"] == pytest.approx(cohen_kappa_score(y_true, y_pred), abs=1e-12)
    cm = confusion_matrix(y_true, y_pred, labels=labels)
    assert m["confusion_matrix"] == cm.tolist()
    prec = precision_score(y_true, y_pred, labels=labels, average=None, zero_division=0)
    rec = recall_score(y_true, y_pred, labels=labels, average=None, zero_division=0)
    for i, c in enumerate(labels):
        assert m["per_class"][str(c)]["precision"] == pytest.approx(prec[i], abs=1e-12)
        assert m["per_class"][str(c)]["recall"] == pytest.approx(rec[i], abs=1e-12)
        assert m["per_class"][str(c)]["support"] == int((y_true == c).sum())
    with open(paths["confusion_matrix"], newline="") as fh:
        table = list(csv.reader(fh))
    assert table[0][1:] == [str(c) for c in labels]
    assert [[int(v) for v in row[1:]] for row in table[1:]] == cm.tolist()
    # the map predicted tile by tile agrees with the model at every held-out pixel
    with rasterio.open(paths["landcover"]) as ds:
        mapped = np.array([v[0] for v in ds.sample(xy)])
    np.testing.assert_array_equal(mapped, y_pred)


def test_predicted_map_is_worldcover_on_the_imagery_grid(demo_run):
    d, paths = demo_run
    with rasterio.open(paths["landcover"]) as out, rasterio.open(d / "lc.tif") as ref:
        assert out.transform == ref.transform and out.crs == ref.crs
        assert out.dtypes[0] == "uint8" and out.nodata == 255
        pred, truth = out.read(1), ref.read(1)
    assert np.all(pred[:10, :10] == 255)  # nodata in the imagery stays nodata
    valid = truth != 255
    assert set(np.unique(pred[valid])) <= set(CODES.tolist())
    assert (pred[valid] == truth[valid]).mean() >= MIN_OVERALL_ACCURACY


def test_confusion_matrix_png(demo_run, tmp_path):
    _, paths = demo_run
    png = L.plot_confusion_matrix(paths["metrics"], tmp_path / "cm.png")
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    img = matplotlib.image.imread(png)  # a real picture, not an empty canvas
    assert img.shape[0] > 300 and img.std() > 0.05


def test_demo_imagery_signatures_and_training_labels(tmp_path):
    make_landcover(tmp_path / "lc.tif", size=120)
    img, trn = L.demo_imagery(tmp_path / "lc.tif", tmp_path / "img.tif", tmp_path / "t.gpkg",
                              seed=5, samples_per_class=40)
    with rasterio.open(img) as ds, rasterio.open(tmp_path / "lc.tif") as ref:
        assert ds.count == 6 and list(ds.descriptions) == list(L.BAND_NAMES)
        bands = ds.read().astype("float64")
        lc = ref.read(1)
        assert ds.transform == ref.transform
    _, green, red, nir, swir1, _ = bands
    ndvi = (nir - red) / (nir + red)
    ndwi = (green - nir) / (green + nir)
    ndbi = (swir1 - nir) / (swir1 + nir)
    mean = {c: (ndvi[lc == c].mean(), ndwi[lc == c].mean(), ndbi[lc == c].mean())
            for c in CODES}
    assert mean[10][0] > 0.6 and mean[80][0] < 0                 # trees green, water not
    assert mean[80][1] > 0.3 and all(mean[c][1] < 0 for c in (10, 40))  # NDWI flags water
    assert mean[50][2] > 0 and mean[10][2] < 0                   # NDBI flags built-up
    assert np.all(bands[:, lc == 255] == L.IMAGERY_NODATA)
    pts = gpd.read_file(trn)
    assert pts.crs.to_string() == UTM and len(pts) == 40 * len(CODES)
    with rasterio.open(tmp_path / "lc.tif") as ref:
        under = np.array([v[0] for v in ref.sample(zip(pts.geometry.x, pts.geometry.y))])
    np.testing.assert_array_equal(under, pts["class"].to_numpy())


def test_polygon_training_grouped_split(tmp_path):
    grid = make_landcover(tmp_path / "lc.tif", size=120, nodata_corner=False)
    L.demo_imagery(tmp_path / "lc.tif", tmp_path / "img.tif", tmp_path / "pts.gpkg", seed=2)
    with rasterio.open(tmp_path / "lc.tif") as ds:
        lc = ds.read(1)
    # 3 x 3-pixel squares centred on pixels whose 3x3 neighbourhood is one class
    rng = np.random.default_rng(0)
    polys, labels = [], []
    for c in CODES:
        rr, cc = np.nonzero(lc == c)
        ok = [(r, k) for r, k in zip(rr, cc) if 1 <= r < 119 and 1 <= k < 119
              and np.all(lc[r - 1:r + 2, k - 1:k + 2] == c)]
        for i in rng.choice(len(ok), size=min(8, len(ok)), replace=False):
            r, k = ok[i]
            x0 = grid.x0 + 30 * (k - 1)
            y1 = grid.y0 - 30 * (r - 1)
            polys.append(box(x0, y1 - 90, x0 + 90, y1))
            labels.append(int(c))
    gpd.GeoDataFrame({"lc": labels}, geometry=polys, crs=UTM).to_file(tmp_path / "poly.gpkg")
    paths = L.train(tmp_path / "img.tif", tmp_path / "poly.gpkg", tmp_path / "out",
                    label_field="lc", n_estimators=30)
    rows = read_samples(paths["samples"])
    assert len(rows) == 9 * len(polys)  # every pixel centre inside a 3x3-pixel square
    train_groups = {r["group"] for r in rows if r["split"] == "train"}
    test_groups = {r["group"] for r in rows if r["split"] == "test"}
    assert train_groups and test_groups and train_groups.isdisjoint(test_groups)
    m = json.loads(paths["metrics"].read_text())
    assert m["split"].startswith("grouped by polygon")


def _peak_predict(model, img, out, block):
    tracemalloc.start()
    tracemalloc.reset_peak()
    L.predict_raster(model, img, out, block_size=block)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def test_prediction_memory_is_flat_as_the_raster_grows(tmp_path):
    make_landcover(tmp_path / "small.tif", size=128, seed=4)
    make_landcover(tmp_path / "big.tif", size=512, seed=4)
    for n in ("small", "big"):
        L.demo_imagery(tmp_path / f"{n}.tif", tmp_path / f"{n}_img.tif",
                       tmp_path / f"{n}.gpkg", seed=1, samples_per_class=30)
    paths = L.train(tmp_path / "small_img.tif", tmp_path / "small.gpkg", tmp_path / "m",
                    n_estimators=5)
    small = _peak_predict(paths["model"], tmp_path / "small_img.tif", tmp_path / "s.tif", 128)
    big = _peak_predict(paths["model"], tmp_path / "big_img.tif", tmp_path / "b.tif", 128)
    # 16x the pixels, about the same peak (model, one tile of imagery, features and class
    # probabilities). Reading the whole image at once would need 512*512*6*4 B = 6.3 MB for
    # the imagery alone, plus 9.4 MB of features and 16.8 MB of probabilities.
    whole_image_bytes = 512 * 512 * 6 * 4
    assert big < 1.5 * small + 256 * 1024, (small, big)
    assert big < whole_image_bytes, (small, big)


def test_empty_training_set_is_an_error(tmp_path):
    make_landcover(tmp_path / "lc.tif", size=64)
    L.demo_imagery(tmp_path / "lc.tif", tmp_path / "img.tif", tmp_path / "t.gpkg")
    empty = gpd.GeoDataFrame({"class": []}, geometry=[], crs=UTM)
    empty.to_file(tmp_path / "empty.gpkg")
    with pytest.raises(InputDataError, match="empty.gpkg: the training set is empty"):
        L.train(tmp_path / "img.tif", tmp_path / "empty.gpkg", tmp_path / "out")
    far = gpd.GeoDataFrame({"class": [10, 40]}, geometry=[Point(0, 0), Point(1, 1)], crs=UTM)
    far.to_file(tmp_path / "far.gpkg")
    with pytest.raises(InputDataError, match="far.gpkg, field 'geometry': 2 of 2 training "
                                             "points lie outside the imagery img.tif"):
        L.train(tmp_path / "img.tif", tmp_path / "far.gpkg", tmp_path / "out")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_training_points_outside_the_imagery_are_an_error_not_dropped(tmp_path):
    # issue 14: half the points lay outside the image and were dropped without a word
    make_landcover(tmp_path / "lc.tif", size=64)
    L.demo_imagery(tmp_path / "lc.tif", tmp_path / "img.tif", tmp_path / "t.gpkg")
    pts = gpd.read_file(tmp_path / "t.gpkg")
    half = len(pts) // 2
    moved = pts.copy()
    moved.loc[moved.index[:half], "geometry"] = [Point(g.x - 1e6, g.y)
                                                 for g in pts.geometry[:half]]
    moved.to_file(tmp_path / "half.gpkg")
    with pytest.raises(InputDataError, match=rf"half.gpkg, field 'geometry': {half} of "
                                             rf"{len(pts)} training points lie outside"):
        L.train(tmp_path / "img.tif", tmp_path / "half.gpkg", tmp_path / "out")
    unlabelled = pts.copy()
    unlabelled["class"] = unlabelled["class"].astype(float)
    unlabelled.loc[unlabelled.index[3], "class"] = np.nan
    unlabelled.to_file(tmp_path / "nolabel.gpkg")
    with pytest.raises(InputDataError, match=r"field 'class': 1 of \d+ features have no "
                                             r"geometry or no label \(the first is feature 3\)"):
        L.train(tmp_path / "img.tif", tmp_path / "nolabel.gpkg", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_bad_labels_and_single_class(tmp_path):
    make_landcover(tmp_path / "lc.tif", size=64)
    L.demo_imagery(tmp_path / "lc.tif", tmp_path / "img.tif", tmp_path / "t.gpkg")
    pts = gpd.read_file(tmp_path / "t.gpkg")
    pts.assign(**{"class": 7}).to_file(tmp_path / "seven.gpkg")
    with pytest.raises(InputDataError, match="field 'class': labels \\[7\\] are not ESA"):
        L.train(tmp_path / "img.tif", tmp_path / "seven.gpkg", tmp_path / "out")
    pts.assign(**{"class": 10}).to_file(tmp_path / "one.gpkg")
    with pytest.raises(InputDataError, match="only one class \\(10\\)"):
        L.train(tmp_path / "img.tif", tmp_path / "one.gpkg", tmp_path / "out")
    with pytest.raises(InputDataError, match="label field 'kind' not found"):
        L.train(tmp_path / "img.tif", tmp_path / "t.gpkg", tmp_path / "out", label_field="kind")


def test_prediction_onto_another_grid(tmp_path):
    """Imagery at 30 m predicted onto a 60 m basin grid through a WarpedVRT."""
    make_landcover(tmp_path / "lc.tif", size=96, nodata_corner=False)
    L.demo_imagery(tmp_path / "lc.tif", tmp_path / "img.tif", tmp_path / "t.gpkg", seed=4)
    paths = L.train(tmp_path / "img.tif", tmp_path / "t.gpkg", tmp_path / "m", n_estimators=20)
    basin = Grid(UTM, 700_000.0 + 300, 3_310_000.0 - 300, 60.0, 30, 25)
    out = L.predict_raster(paths["model"], tmp_path / "img.tif", tmp_path / "lc60.tif", basin,
                           block_size=16)
    with rasterio.open(out) as ds:
        assert ds.transform == basin.transform and (ds.width, ds.height) == (30, 25)
        pred = ds.read(1)
    assert set(np.unique(pred)) <= set(CODES.tolist())


def test_cli_classify_and_demo_imagery(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    landcover_cli.register(parser.add_subparsers(dest="command"))
    make_landcover(tmp_path / "lc.tif", size=64)
    args = parser.parse_args(["demo-imagery", "--landcover", str(tmp_path / "lc.tif"),
                              "--imagery-out", str(tmp_path / "img.tif"),
                              "--training-out", str(tmp_path / "t.gpkg"), "--seed", "2"])
    assert args.func(args) == 0
    args = parser.parse_args(["classify", "--imagery", str(tmp_path / "img.tif"),
                              "--training", str(tmp_path / "t.gpkg"),
                              "--out-dir", str(tmp_path / "out"), "--n-estimators", "20",
                              "--landcover-out", str(tmp_path / "inputs" / "landcover.tif")])
    assert args.func(args) == 0
    assert "overall accuracy" in capsys.readouterr().out
    for name in ("model.joblib", "metrics.json", "confusion_matrix.csv",
                 "confusion_matrix.png", "samples.csv"):
        assert (tmp_path / "out" / name).exists(), name
    assert (tmp_path / "inputs" / "landcover.tif").exists()
    args = parser.parse_args(["classify", "--training", str(tmp_path / "t.gpkg"),
                              "--out-dir", str(tmp_path / "o2")])
    with pytest.raises(ConfigError, match="--imagery: missing"):
        args.func(args)


def test_cli_reads_classification_block_from_config(tmp_path):
    make_landcover(tmp_path / "lc.tif", size=64)
    L.demo_imagery(tmp_path / "lc.tif", tmp_path / "img2021.tif", tmp_path / "t.gpkg")
    (tmp_path / "c.yaml").write_text(
        "basin: cl\nyears: [2021]\nresults_dir: res\n"
        "classification:\n  enabled: true\n  imagery: {2021: img2021.tif}\n"
        "  training: t.gpkg\n  n_estimators: 15\n  seed: 3\n")
    parser = argparse.ArgumentParser()
    landcover_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["classify", "--config", str(tmp_path / "c.yaml"),
                              "--year", "2021"])
    assert args.func(args) == 0
    m = json.loads((tmp_path / "res" / "cl" / "landcover" / "2021" / "metrics.json")
                   .read_text())
    assert m["model"]["n_estimators"] == 15 and m["model"]["seed"] == 3
    args = parser.parse_args(["classify", "--config", str(tmp_path / "c.yaml"),
                              "--year", "2022"])
    with pytest.raises(ConfigError, match="classification.imagery.2022: no imagery"):
        args.func(args)


def test_demo_basin_classification_offline(config_factory, tmp_path):
    """The chain the demo pipeline runs: demo land cover -> synthetic imagery -> classify."""
    demo = pytest.importorskip("gep.sources.demo")
    from gep.config import load_config

    cfg = load_config(config_factory(demo={"rows": 96, "cols": 96}, years=[2020, 2021]))
    lc_path = demo.acquire_year(cfg, demo.grid_for(cfg), 2021, tmp_path / "in")["landcover"]
    L.demo_imagery(lc_path, tmp_path / "img.tif", tmp_path / "t.gpkg", seed=cfg.demo.seed)
    paths = L.classify(tmp_path / "img.tif", tmp_path / "t.gpkg", tmp_path / "out",
                       n_estimators=60, png=False)
    m = json.loads(paths["metrics"].read_text())
    assert m["overall_accuracy"] >= MIN_OVERALL_ACCURACY and m["kappa"] >= MIN_KAPPA
    with rasterio.open(paths["landcover"]) as out, rasterio.open(lc_path) as ref:
        assert out.transform == ref.transform
        pred, truth = out.read(1), ref.read(1)
    np.testing.assert_array_equal(pred == 255, truth == 255)  # outside the basin stays nodata
