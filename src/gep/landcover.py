"""Land-cover classification (土地覆被分类) with a scikit-learn random forest.

Where no land-cover product fits a basin (too coarse, wrong year, a legend that misses the
classes the agreement cares about), users classify their own imagery:

1. **Features**: the image bands plus three spectral indices, when the bands can be
   identified as blue, green, red, nir, swir1, swir2 (from band descriptions, or a 6-band
   image in that order):

   * NDVI = (nir - red) / (nir + red)         vegetation (Rouse et al. 1974)
   * NDWI = (green - nir) / (green + nir)     open water (McFeeters 1996)
   * NDBI = (swir1 - nir) / (swir1 + nir)     built-up (Zha et al. 2003)

2. **Training** from labelled points or polygons (GeoPackage, Shapefile, GeoJSON; the label
   field holds ESA WorldCover codes). A point gives the pixel under it; a polygon gives every
   pixel whose centre it contains. The held-out split is stratified by class for points and
   grouped by polygon for polygons, because pixels of one polygon are near-duplicates and would
   otherwise inflate the accuracy.
3. **Accuracy assessment** on the held-out split: overall accuracy, Cohen's kappa, per-class
   precision (user's accuracy, 用户精度) and recall (producer's accuracy, 生产者精度), and the
   confusion matrix (rows = reference, columns = predicted), saved as ``metrics.json`` and
   ``confusion_matrix.csv``; :func:`plot_confusion_matrix` draws the PNG for the report.
4. **Prediction** tile by tile (fixed-size windows, so memory does not grow with the raster)
   into a WorldCover-coded GeoTIFF (uint8, nodata 255) on the basin grid.

:func:`demo_imagery` makes synthetic 6-band reflectance imagery and training points from a
land-cover raster so the whole chain runs offline on the demo basin.
"""
from __future__ import annotations

import contextlib
import json
import logging
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from pyogrio.errors import DataLayerError, DataSourceError
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.errors import WindowError
from rasterio.vrt import WarpedVRT
from rasterio.windows import Window

from gep.config import WORLDCOVER_CLASSES
from gep.errors import InputDataError
from gep.io import atomic_path, write_csv, write_json
from gep.log import progress
from gep.paths import Paths
from gep.sources.base import LANDCOVER_NODATA, Grid, open_cog

log = logging.getLogger(__name__)

BAND_NAMES = ("blue", "green", "red", "nir", "swir1", "swir2")
INDEX_NAMES = ("ndvi", "ndwi", "ndbi")
IMAGERY_NODATA = -9999.0
MODEL_FORMAT = "gep-landcover-model/1"


# -- features ---------------------------------------------------------------------------------
def normalized_difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(a - b) / (a + b), 0 where a + b == 0 (dark pixels carry no index information)."""
    a = a.astype("float32", copy=False)
    b = b.astype("float32", copy=False)
    s = a + b
    out = np.zeros(np.broadcast_shapes(a.shape, b.shape), dtype="float32")
    np.divide(a - b, s, out=out, where=s != 0)
    return out


def band_roles(descriptions: Sequence[str | None], count: int) -> dict[str, int] | None:
    """Map blue..swir2 to 0-based band indexes, or None if they cannot be identified.

    Band descriptions win (case-insensitive, e.g. set by :func:`demo_imagery` or by
    ``gdal_edit.py -b 1 -description blue``); a 6-band image without them is taken to be in
    the order blue, green, red, nir, swir1, swir2 (Sentinel-2 B2 B3 B4 B8 B11 B12, Landsat 8/9
    SR_B2..SR_B7).
    """
    names = [(d or "").strip().lower() for d in descriptions]
    if all(n in names for n in BAND_NAMES):
        return {n: names.index(n) for n in BAND_NAMES}
    if count == 6 and not any(names):
        return {n: i for i, n in enumerate(BAND_NAMES)}
    return None


def feature_names(count: int, roles: dict[str, int] | None,
                  descriptions: Sequence[str | None] = ()) -> list[str]:
    desc = list(descriptions) + [None] * count
    names = [(desc[i] or f"band{i + 1}") for i in range(count)]
    return names + (list(INDEX_NAMES) if roles else [])


def features(bands: np.ndarray, roles: dict[str, int] | None) -> np.ndarray:
    """Feature matrix ``(n_pixels, n_features)`` from a ``(count, ...)`` band stack."""
    count = bands.shape[0]
    flat = bands.reshape(count, -1).astype("float32", copy=False)
    cols = [flat]
    if roles:
        b = {k: flat[v] for k, v in roles.items()}
        cols.append(np.stack([normalized_difference(b["nir"], b["red"]),
                              normalized_difference(b["green"], b["nir"]),
                              normalized_difference(b["swir1"], b["nir"])]))
    return np.concatenate(cols, axis=0).T


def _valid_mask(bands: np.ndarray, nodata: Sequence[float | None]) -> np.ndarray:
    """Pixels where every band is finite and not nodata."""
    ok = np.all(np.isfinite(bands), axis=0)
    for i, nd in enumerate(nodata):
        if nd is not None and not (isinstance(nd, float) and math.isnan(nd)):
            ok &= bands[i] != nd
    return ok


def open_raster(path: str | Path, what: str = "imagery"):
    """``rasterio.open`` with a clear error for a missing or unreadable file."""
    path = Path(path)
    if not path.exists():
        raise InputDataError(str(path), f"{what} file not found",
                             "check the path (classification.imagery in the config)")
    try:
        return rasterio.open(path)
    except rasterio.errors.RasterioIOError as exc:
        raise InputDataError(str(path), f"cannot read the {what} ({exc})",
                             "give a GeoTIFF") from None


# -- training samples -------------------------------------------------------------------------
@dataclass
class Samples:
    """Labelled pixels: features, labels, groups (one per point/polygon), pixel centres."""

    X: np.ndarray
    y: np.ndarray
    groups: np.ndarray
    xy: np.ndarray
    geometry: str  # "point" or "polygon"


def read_training(training: str | Path, label_field: str, crs) -> object:
    """Read and check a training vector; return a GeoDataFrame in ``crs``."""
    import geopandas as gpd

    path = Path(training)
    if not path.exists():
        raise InputDataError(str(path), "training file not found (classification.training)",
                             "give a GeoPackage of labelled points or polygons")
    try:
        gdf = gpd.read_file(path)
    except (DataSourceError, DataLayerError, OSError, ValueError) as exc:
        raise InputDataError(str(path), f"cannot read the training vector ({exc})",
                             "use a GeoPackage, Shapefile or GeoJSON file") from None
    if len(gdf) == 0:
        raise InputDataError(str(path), "the training set is empty",
                             "add labelled points or polygons (label = WorldCover code)")
    if gdf.crs is None:
        raise InputDataError(str(path), "the training vector has no coordinate reference "
                             "system", "assign one, e.g. ogr2ogr -a_srs EPSG:4326 ...")
    if label_field not in gdf.columns:
        have = ", ".join(c for c in gdf.columns if c != "geometry")
        raise InputDataError(str(path), f"label field '{label_field}' not found (fields: "
                             f"{have})", "set classification.label_field", field=label_field)
    unusable = ~(gdf.geometry.notna() & ~gdf.geometry.is_empty & gdf[label_field].notna())
    if unusable.any() and not unusable.all():
        # issue 14: features were dropped silently; a missing label is a clerk's slip
        first = int(np.flatnonzero(unusable.to_numpy())[0])
        raise InputDataError(str(path), f"{int(unusable.sum())} of {len(gdf)} features have no "
                             f"geometry or no label (the first is feature {first})",
                             "fill in their labels and geometries, or delete them",
                             field=label_field)
    gdf = gdf[~unusable]
    if len(gdf) == 0:
        raise InputDataError(str(path), "the training set is empty (no feature has both a "
                             "geometry and a label)", "fill in the labels", field=label_field)
    try:
        labels = gdf[label_field].astype(float)
    except (TypeError, ValueError):
        raise InputDataError(str(path), "labels must be ESA WorldCover codes (integers)",
                             "recode the labels to 10, 20, 30, ...", field=label_field) from None
    bad = sorted({int(v) if float(v).is_integer() else v for v in labels
                  if not float(v).is_integer() or int(v) not in WORLDCOVER_CLASSES})
    if bad:
        raise InputDataError(str(path), f"labels {bad} are not ESA WorldCover codes",
                             "use " + ", ".join(map(str, WORLDCOVER_CLASSES)),
                             field=label_field)
    gdf = gdf.assign(**{label_field: labels.astype(int)})
    kinds = set(gdf.geom_type)
    if not (kinds <= {"Point", "MultiPoint"} or kinds <= {"Polygon", "MultiPolygon"}):
        raise InputDataError(str(path), f"mixed or unsupported geometries {sorted(kinds)}",
                             "use only points or only polygons")
    return gdf.to_crs(crs)


def extract_samples(imagery: str | Path, training: str | Path,
                    label_field: str = "class") -> Samples:
    """Features and labels of the imagery pixels under the training points or polygons."""
    imagery = Path(imagery)
    with open_raster(imagery) as ds:
        if ds.crs is None:
            raise InputDataError(str(imagery), "the imagery has no coordinate reference system",
                                 "assign one, e.g. gdal_edit.py -a_srs EPSG:32650 FILE")
        roles = band_roles(ds.descriptions, ds.count)
        gdf = read_training(training, label_field, ds.crs)
        gdf = gdf.explode(index_parts=False).reset_index(names="feature")
        is_point = bool(gdf.geom_type.eq("Point").all())
        sample = _point_samples if is_point else _polygon_samples
        Xs, ys, gs, xys = sample(ds, gdf, roles, label_field, imagery, training)
    n = sum(len(y) for y in ys)
    if n == 0:
        raise InputDataError(str(training), "the training set is empty: no training point or "
                             f"polygon falls on a valid pixel of {imagery}",
                             "check that the training data and imagery cover the same area")
    return Samples(np.concatenate(Xs), np.concatenate(ys).astype(int),
                   np.concatenate(gs), np.concatenate(xys),
                   "point" if is_point else "polygon")


def _point_samples(ds, gdf, roles, label_field: str, imagery: Path, training) -> tuple:
    """(features, labels, groups, pixel centres) lists of the pixels under training points;
    every point must lie on the imagery."""
    Xs, ys, gs, xys = [], [], [], []
    xs = gdf.geometry.x.to_numpy()
    ys_ = gdf.geometry.y.to_numpy()
    rows, cols = rasterio.transform.rowcol(ds.transform, xs, ys_)
    rows, cols = np.asarray(rows), np.asarray(cols)
    inside = (rows >= 0) & (rows < ds.height) & (cols >= 0) & (cols < ds.width)
    if not inside.all():
        # issue 14: dropping them silently trained on half the samples without a word
        out = np.flatnonzero(~inside)
        first = int(gdf["feature"].iloc[int(out[0])])
        raise InputDataError(str(training), f"{out.size} of {len(gdf)} training points "
                             f"lie outside the imagery {imagery.name} (the first is "
                             f"feature {first} at x={xs[out[0]]:.6g}, "
                             f"y={ys_[out[0]]:.6g})", "drop or move those points, or "
                             "use imagery covering every training point (check both "
                             "are in the same area and CRS)", field="geometry")
    if inside.any():
        # ds.sample reads block by block: memory stays small however large the image
        idx = np.flatnonzero(inside)
        vals = np.array(list(ds.sample(zip(xs[idx], ys_[idx])))).T
        ok = _valid_mask(vals, ds.nodatavals)
        idx = idx[ok]
        Xs.append(features(vals[:, ok], roles))
        ys.append(gdf[label_field].to_numpy()[idx])
        gs.append(gdf["feature"].to_numpy()[idx])
        cx, cy = rasterio.transform.xy(ds.transform, rows[idx], cols[idx])
        xys.append(np.column_stack([cx, cy]))
    return Xs, ys, gs, xys


def _polygon_samples(ds, gdf, roles, label_field: str, imagery: Path, training) -> tuple:
    """(features, labels, groups, pixel centres) lists of the pixels inside training
    polygons, read one polygon's window at a time."""
    from rasterio.features import geometry_window, rasterize

    Xs, ys, gs, xys = [], [], [], []
    full = Window(0, 0, ds.width, ds.height)
    for feat, geom, label in zip(gdf["feature"], gdf.geometry, gdf[label_field]):
        try:
            win = geometry_window(ds, [geom]).intersection(full)
        except WindowError:
            raise InputDataError(str(training), f"training polygon (feature {feat}) "
                                 f"lies outside the imagery {imagery.name}",
                                 "drop or move it, or use imagery covering every "
                                 "training polygon", field="geometry") from None
        win = win.round_offsets().round_lengths()
        if win.width < 1 or win.height < 1:
            continue
        t = ds.window_transform(win)
        mask = rasterize([(geom, 1)], out_shape=(win.height, win.width), transform=t,
                         fill=0, dtype="uint8").astype(bool)
        if not mask.any():
            continue
        block = ds.read(window=win)
        ok = mask & _valid_mask(block, ds.nodatavals)
        r, c = np.nonzero(ok)
        Xs.append(features(block[:, r, c], roles))
        ys.append(np.full(len(r), label))
        gs.append(np.full(len(r), feat))
        cx, cy = rasterio.transform.xy(t, r, c)
        xys.append(np.column_stack([cx, cy]))
    return Xs, ys, gs, xys


def split_samples(samples: Samples, test_fraction: float, seed: int
                  ) -> tuple[np.ndarray, np.ndarray, str]:
    """Train/test index arrays and a description of the split."""
    from sklearn.model_selection import GroupShuffleSplit, train_test_split

    n = len(samples.y)
    idx = np.arange(n)
    n_groups = len(np.unique(samples.groups))
    if samples.geometry == "polygon":
        if n_groups >= 4:
            gss = GroupShuffleSplit(n_splits=1, test_size=test_fraction, random_state=seed)
            train, test = next(gss.split(idx, samples.y, samples.groups))
            return np.sort(train), np.sort(test), "grouped by polygon (GroupShuffleSplit)"
        log.warning("only %d training polygons: splitting pixels at random, so the held-out "
                    "accuracy is optimistic (pixels of one polygon are alike)", n_groups)
    _, counts = np.unique(samples.y, return_counts=True)
    n_test = math.ceil(test_fraction * n)
    stratify = samples.y if counts.min() >= 2 and n_test >= len(counts) else None
    if n < 2:
        raise InputDataError("training", f"only {n} training sample(s)",
                             "give at least a few samples per class")
    train, test = train_test_split(idx, test_size=test_fraction, random_state=seed,
                                   stratify=stratify)
    how = "stratified random" if stratify is not None else "random"
    return np.sort(train), np.sort(test), how


# -- metrics ----------------------------------------------------------------------------------
def accuracy_metrics(y_true: np.ndarray, y_pred: np.ndarray,
                     labels: Sequence[int] | None = None) -> dict:
    """Overall accuracy, Cohen's kappa, per-class precision/recall/F1, confusion matrix."""
    from sklearn.metrics import (
        accuracy_score,
        cohen_kappa_score,
        confusion_matrix,
        precision_recall_fscore_support,
    )

    labels = sorted({int(v) for v in np.concatenate([y_true, y_pred])}) if labels is None \
        else [int(v) for v in labels]
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels,
                                                 zero_division=0)
    cm = confusion_matrix(y_true, y_pred, labels=labels)
    return {
        "overall_accuracy": float(accuracy_score(y_true, y_pred)),
        "kappa": float(cohen_kappa_score(y_true, y_pred, labels=labels)),
        "n_test": len(y_true),
        "labels": labels,
        "per_class": {
            str(c): {"name": WORLDCOVER_CLASSES.get(c, str(c)),
                     "precision": float(p[i]), "recall": float(r[i]),
                     "f1": float(f[i]), "support": int(s[i])}
            for i, c in enumerate(labels)
        },
        "confusion_matrix": cm.astype(int).tolist(),
    }


def write_confusion_csv(path: str | Path, metrics: dict) -> Path:
    """Rows = reference class, columns = predicted class (counts of held-out samples)."""
    labels = metrics["labels"]
    rows = [[c] + list(row) for c, row in zip(labels, metrics["confusion_matrix"])]
    return write_csv(path, ["reference\\predicted"] + [str(c) for c in labels], rows)


def plot_confusion_matrix(metrics: dict | str | Path, out_png: str | Path,
                          title: str = "Land-cover accuracy (held-out samples)") -> Path:
    """Draw the confusion matrix (counts; row-normalised colour) to a PNG for the report.

    ``metrics`` is the dict of :func:`accuracy_metrics` or the path of ``metrics.json``.
    """
    from gep.fonts import configure_matplotlib

    configure_matplotlib()
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    if not isinstance(metrics, dict):
        metrics = json.loads(Path(metrics).read_text(encoding="utf-8"))
    labels = metrics["labels"]
    cm = np.asarray(metrics["confusion_matrix"])
    names = [f"{c} {WORLDCOVER_CLASSES.get(c, '')}".strip() for c in labels]
    size = 2.5 + 0.7 * len(labels)
    fig, ax = plt.subplots(figsize=(size, size), dpi=110)
    try:
        ConfusionMatrixDisplay(cm, display_labels=names).plot(
            ax=ax, cmap="Greens", colorbar=False, xticks_rotation=45, values_format="d")
        ax.set_xlabel("Predicted")
        ax.set_ylabel("Reference")
        ax.set_title(f"{title}\nOA {metrics['overall_accuracy']:.3f}, "
                     f"kappa {metrics['kappa']:.3f}, n = {metrics['n_test']}", fontsize=9)
        fig.tight_layout()
        with atomic_path(out_png) as tmp:
            fig.savefig(tmp, format="png")
    finally:
        plt.close(fig)
    return Path(out_png)


# -- training ---------------------------------------------------------------------------------
def train(imagery: str | Path, training: str | Path, out_dir: str | Path,
          label_field: str = "class", n_estimators: int = 200, test_fraction: float = 0.3,
          seed: int = 0, n_jobs: int = 1) -> dict[str, Path]:
    """Train a random forest, assess it on a held-out split, save model and metrics.

    Writes into ``out_dir``: ``model.joblib`` (the fitted model with its feature names and
    band roles), ``metrics.json``, ``confusion_matrix.csv`` and ``samples.csv`` (every sample's
    pixel-centre coordinates, label and split, so anyone can recompute the metrics).
    The final model is the one fitted on the training split, i.e. the one assessed.
    """
    from sklearn.ensemble import RandomForestClassifier

    samples = extract_samples(imagery, training, label_field)
    classes = np.unique(samples.y)
    if len(classes) < 2:
        raise InputDataError(str(training), f"only one class ({classes[0]}) in the training "
                             "set", "give samples of at least two classes", field=label_field)
    tr, te, how = split_samples(samples, test_fraction, seed)
    if len(te) == 0 or len(tr) == 0:
        raise InputDataError(str(training), f"{len(samples.y)} samples are too few for a "
                             "held-out split", "give more training samples")
    model = RandomForestClassifier(n_estimators=n_estimators, random_state=seed,
                                   n_jobs=n_jobs, class_weight="balanced")
    model.fit(samples.X[tr], samples.y[tr])
    pred = model.predict(samples.X[te])
    labels = sorted({int(c) for c in classes})
    metrics = accuracy_metrics(samples.y[te], pred, labels)
    with rasterio.open(imagery) as ds:
        roles = band_roles(ds.descriptions, ds.count)
        fnames = feature_names(ds.count, roles, ds.descriptions)
        band_count = ds.count
    metrics.update({
        "n_train": len(tr),
        "split": how,
        "test_fraction": test_fraction,
        "training_geometry": samples.geometry,
        "model": {"type": "RandomForestClassifier", "n_estimators": n_estimators,
                  "class_weight": "balanced", "seed": seed},
        "features": fnames,
        "feature_importances": {n: float(v) for n, v in
                                zip(fnames, model.feature_importances_)},
        "imagery": str(imagery),
        "training": str(training),
    })
    bundle = {"format": MODEL_FORMAT, "model": model, "features": fnames,
              "band_roles": roles, "band_count": band_count, "labels": labels}
    return _write_training(out_dir, bundle, metrics, samples, te)


def _write_training(out_dir: str | Path, bundle: dict, metrics: dict, samples: Samples,
                    te: np.ndarray) -> dict[str, Path]:
    """The model bundle, the samples with their split, the confusion matrix and metrics."""
    import joblib

    files = Paths.LandcoverFiles(out_dir)
    files.mkdir(parents=True, exist_ok=True)
    paths = {k: files.file(k) for k in ("model", "metrics", "confusion_matrix", "samples")}
    with atomic_path(paths["model"]) as tmp:
        joblib.dump(bundle, tmp, compress=3)
    split = np.full(len(samples.y), "train", dtype=object)
    split[te] = "test"
    write_csv(paths["samples"], ["x", "y", "label", "split", "group"],
              ([f"{x:.3f}", f"{y:.3f}", int(lab), s, g] for (x, y), lab, s, g in
               zip(samples.xy, samples.y, split, samples.groups)))
    write_confusion_csv(paths["confusion_matrix"], metrics)
    write_json(paths["metrics"], metrics)
    return paths


def load_model(path: str | Path) -> dict:
    """Load a model bundle written by :func:`train` (only load files you produced)."""
    import joblib

    bundle = joblib.load(path)
    if not isinstance(bundle, dict) or bundle.get("format") != MODEL_FORMAT:
        raise InputDataError(str(path), "not a gep land-cover model",
                             "train one with 'gep classify'")
    return bundle


# -- prediction -------------------------------------------------------------------------------
def tile_windows(width: int, height: int, size: int = 256) -> Iterator[Window]:
    """Fixed-size square windows: memory per window is constant however large the raster."""
    for r0 in range(0, height, size):
        for c0 in range(0, width, size):
            yield Window(c0, r0, min(size, width - c0), min(size, height - r0))


def predict_raster(model_path: str | Path, imagery: str | Path, out_tif: str | Path,
                   grid: Grid | None = None, block_size: int = 256) -> Path:
    """Classify ``imagery`` tile by tile into a WorldCover GeoTIFF (uint8, nodata 255).

    With ``grid`` the imagery is read through a ``WarpedVRT`` onto that grid (bilinear), so the
    output lands on the basin grid whatever the imagery's CRS and resolution; otherwise the
    output has the imagery's own grid. Pixels with a nodata or non-finite band stay nodata.
    """
    bundle = load_model(model_path)
    model, roles = bundle["model"], bundle["band_roles"]
    imagery = Path(imagery)
    with contextlib.ExitStack() as stack:
        src = stack.enter_context(open_raster(imagery))
        if src.count != bundle["band_count"]:
            raise InputDataError(str(imagery), f"has {src.count} bands; the model was trained "
                                 f"on {bundle['band_count']}", "use imagery like the training "
                                 "imagery")
        nodata = list(src.nodatavals)
        if grid is not None:
            if src.crs is None:
                raise InputDataError(str(imagery), "the imagery has no coordinate reference "
                                     "system", "assign one")
            # outside the imagery the VRT yields its nodata, which must then read as invalid
            fill = nodata[0] if nodata[0] is not None else IMAGERY_NODATA
            src = stack.enter_context(WarpedVRT(
                src, crs=CRS.from_user_input(grid.crs), transform=grid.transform,
                width=grid.width, height=grid.height, resampling=Resampling.bilinear,
                src_nodata=nodata[0], nodata=fill))
            nodata = [fill] * src.count
            out_grid = grid
        else:
            out_grid = Grid.from_raster(imagery)
        prof = out_grid.profile("uint8", LANDCOVER_NODATA)
        if not prof.get("tiled"):
            prof.update(tiled=True, blockxsize=min(256, _pow2_floor(out_grid.width)),
                        blockysize=min(256, _pow2_floor(out_grid.height)))
            if prof["blockxsize"] < 16 or prof["blockysize"] < 16:
                prof.pop("tiled"), prof.pop("blockxsize"), prof.pop("blockysize")
        with open_cog(out_tif, prof) as dst:
            dst.set_band_description(1, "landcover (ESA WorldCover code), random forest")
            for win in progress(list(tile_windows(out_grid.width, out_grid.height,
                                                  block_size)),
                                desc=f"classify {Path(out_tif).name}", unit="tile"):
                block = src.read(window=win)
                ok = _valid_mask(block, nodata).ravel()
                out = np.full(ok.shape, LANDCOVER_NODATA, dtype="uint8")
                if ok.any():
                    X = features(block, roles)[ok]
                    out[ok] = model.predict(X).astype("uint8")
                dst.write(out.reshape(int(win.height), int(win.width)), 1, window=win)
    return Path(out_tif)


def _pow2_floor(n: int) -> int:
    return 1 << (max(n, 1).bit_length() - 1)


def classify(imagery: str | Path, training: str | Path, out_dir: str | Path,
             landcover_out: str | Path | None = None, label_field: str = "class",
             n_estimators: int = 200, test_fraction: float = 0.3, seed: int = 0,
             grid: Grid | None = None, block_size: int = 256, n_jobs: int = 1,
             png: bool = True) -> dict[str, Path]:
    """Train, assess, and predict: the whole ``gep classify`` stage.

    Returns the paths ``model, metrics, confusion_matrix, samples, landcover`` (+ ``png``).
    ``landcover_out`` defaults to ``out_dir/landcover.tif``.
    """
    from gep.io import check_out_dir, check_out_file

    check_out_dir(out_dir, "--out-dir")
    files = Paths.LandcoverFiles(out_dir)
    lc = Path(landcover_out) if landcover_out else files.landcover
    check_out_file(lc, "--landcover-out")
    paths = train(imagery, training, out_dir, label_field, n_estimators, test_fraction, seed,
                  n_jobs)
    paths["landcover"] = predict_raster(paths["model"], imagery, lc, grid, block_size)
    if png:
        paths["png"] = plot_confusion_matrix(paths["metrics"], files.png)
    return paths


# -- synthetic demo imagery -------------------------------------------------------------------
# Typical surface reflectance (0-1) of each WorldCover class in blue, green, red, nir, swir1,
# swir2, after published spectral libraries (USGS splib07, ECOSTRESS) and Sentinel-2 L2A
# class means: vegetation has a red edge (low red, high nir), water is dark beyond green,
# built-up and bare soil are bright in the SWIR.
SIGNATURES: dict[int, tuple[float, ...]] = {
    10: (0.025, 0.050, 0.030, 0.310, 0.150, 0.070),   # tree cover
    20: (0.045, 0.075, 0.070, 0.260, 0.230, 0.130),   # shrubland
    30: (0.050, 0.090, 0.075, 0.330, 0.270, 0.160),   # grassland
    40: (0.060, 0.100, 0.085, 0.380, 0.210, 0.110),   # cropland
    50: (0.110, 0.120, 0.140, 0.200, 0.250, 0.220),   # built-up
    60: (0.140, 0.180, 0.230, 0.280, 0.360, 0.310),   # bare / sparse
    70: (0.850, 0.830, 0.800, 0.700, 0.080, 0.060),   # snow and ice
    80: (0.060, 0.055, 0.035, 0.020, 0.010, 0.006),   # water
    90: (0.035, 0.065, 0.045, 0.190, 0.090, 0.045),   # herbaceous wetland
    95: (0.030, 0.055, 0.035, 0.240, 0.110, 0.050),   # mangroves
    100: (0.070, 0.090, 0.100, 0.220, 0.200, 0.140),  # moss and lichen
}


def demo_imagery(landcover_tif: str | Path, out_imagery_tif: str | Path,
                 out_training_gpkg: str | Path, seed: int = 0,
                 samples_per_class: int = 150, noise: float = 0.12,
                 label_field: str = "class") -> tuple[Path, Path]:
    """Synthetic 6-band reflectance imagery and labelled points from a WorldCover raster.

    Each pixel gets its class signature (:data:`SIGNATURES`) times a smooth illumination and
    moisture field (terrain and haze vary over kilometres, +-10 %), times per-pixel
    multiplicative noise (``noise`` = relative s.d., band-correlated like real speckle), plus
    a little additive sensor noise. Classes with similar spectra (shrub / grass / crop /
    wetland) therefore overlap, as they do in real imagery, and the accuracy is not perfect.
    Training points: up to ``samples_per_class`` random pixel centres per class present,
    label = WorldCover code in field ``label_field``. Output imagery is float32 reflectance,
    nodata -9999, band descriptions blue..swir2, on the land-cover grid.
    """
    rng = np.random.default_rng(seed)
    landcover_tif = Path(landcover_tif)
    with open_raster(landcover_tif, "land-cover") as ds:
        lc = ds.read(1)
        lc_nodata = ds.nodata if ds.nodata is not None else LANDCOVER_NODATA
    grid = Grid.from_raster(landcover_tif)
    valid = lc != lc_nodata
    present = [int(c) for c in np.unique(lc[valid])]
    unknown = [c for c in present if c not in SIGNATURES]
    if unknown:
        raise InputDataError(str(landcover_tif), f"codes {unknown} are not WorldCover codes",
                             "give a WorldCover-coded land-cover raster")
    img = _synthetic_reflectance(lc, rng, noise)
    img[:, ~valid] = IMAGERY_NODATA
    prof = grid.profile("float32", IMAGERY_NODATA)
    prof["count"] = len(BAND_NAMES)
    prof["interleave"] = "pixel"
    with atomic_path(out_imagery_tif) as tmp, rasterio.open(tmp, "w", **prof) as dst:
        dst.write(img)
        for i, n in enumerate(BAND_NAMES, start=1):
            dst.set_band_description(i, n)
        dst.update_tags(source="gep.landcover.demo_imagery (synthetic)", seed=str(seed))
    _write_training_points(lc, present, grid, rng, samples_per_class, label_field,
                           out_training_gpkg)
    return Path(out_imagery_tif), Path(out_training_gpkg)


def _synthetic_reflectance(lc: np.ndarray, rng: np.random.Generator,
                           noise: float) -> np.ndarray:
    """(bands, rows, cols) reflectance: class signature x illumination x moisture (SWIR)
    x band-correlated speckle, + sensor noise, clipped to (0, 1]."""
    from scipy.ndimage import gaussian_filter

    h, w = lc.shape
    lut = np.zeros((256, len(BAND_NAMES)), dtype="float32")
    for c, sig in SIGNATURES.items():
        lut[c] = sig
    sigma = max(2.0, min(h, w) / 8)
    illum = gaussian_filter(rng.standard_normal((h, w)), sigma)
    illum = 1 + 0.10 * illum / (np.abs(illum).max() or 1)
    moist = gaussian_filter(rng.standard_normal((h, w)), sigma)
    moist = 0.06 * moist / (np.abs(moist).max() or 1)
    common = rng.standard_normal((h, w)).astype("float32")
    img = np.empty((len(BAND_NAMES), h, w), dtype="float32")
    for b in range(len(BAND_NAMES)):
        own = rng.standard_normal((h, w)).astype("float32")
        mult = 1 + noise * (0.6 * common + 0.8 * own)
        swir_damp = (1 - moist) if BAND_NAMES[b].startswith("swir") else 1.0
        band = lut[lc, b] * illum * swir_damp * mult + rng.normal(0, 0.004, (h, w))
        img[b] = np.clip(band, 0.0005, 1.0)
    return img


def _write_training_points(lc: np.ndarray, present: list[int], grid: Grid,
                           rng: np.random.Generator, samples_per_class: int, label_field: str,
                           out_gpkg: str | Path) -> None:
    """Up to ``samples_per_class`` random pixel centres per class, labelled by its code."""
    import geopandas as gpd
    from shapely.geometry import Point

    pts, labels = [], []
    for c in present:
        rr, cc = np.nonzero(lc == c)
        k = min(samples_per_class, len(rr))
        pick = rng.choice(len(rr), size=k, replace=False)
        xs, ys = rasterio.transform.xy(grid.transform, rr[pick], cc[pick])
        pts += [Point(x, y) for x, y in zip(xs, ys)]
        labels += [c] * k
    gdf = gpd.GeoDataFrame({label_field: labels}, geometry=pts, crs=grid.crs)
    with atomic_path(out_gpkg) as tmp:
        tmp.unlink()
        gdf.to_file(tmp, driver="GPKG", layer="training")
