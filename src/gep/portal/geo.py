"""The basin's own vector data in lon/lat: where a track or a report lies, geodesic lengths,
and SVG outlines for the pages (no map tiles from the internet).

Lengths are geodesic on the WGS 84 ellipsoid (``pyproj.Geod.geometry_length``) of the part of
the track that lies inside a polygon (shapely intersection in lon/lat: fine for the short,
basin-sized segments of a patrol track).
"""
from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

from shapely import prepared
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, mapping, shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from gep.errors import GepError, InputDataError


class TrackError(GepError, ValueError):
    """A track that cannot be accepted; the message says why (shown to the chief)."""


@dataclass
class BasinGeometry:
    parties: dict[str, BaseGeometry]
    names: dict[str, tuple[str, str]] = field(default_factory=dict)  # party_id -> (en, zh)

    def __post_init__(self):
        self.basin = unary_union(list(self.parties.values()))
        self._basin_prep = prepared.prep(self.basin)
        self._prep = {k: prepared.prep(g) for k, g in self.parties.items()}
        from pyproj import Geod

        self._geod = Geod(ellps="WGS84")

    # -- loading ------------------------------------------------------------------------------
    @classmethod
    def from_file(cls, path: str | Path, id_field: str = "party_id") -> BasinGeometry:
        import geopandas as gpd

        path = Path(path)
        if not path.is_file():
            raise InputDataError(str(path), "parties vector not found", field="parties",
                                 fix="run gep acquire for this basin first (make demo), or "
                                 "pass the basin config whose results hold inputs/parties.gpkg")
        gdf = gpd.read_file(path)
        if gdf.crs is None:
            raise InputDataError(str(path), "the parties vector has no CRS", field="crs",
                                 fix="write it with its CRS")
        if id_field not in gdf.columns:
            raise InputDataError(str(path), f"no column '{id_field}'", field=id_field,
                                 fix="give each party polygon its party_id")
        gdf = gdf.to_crs(4326)
        parties: dict[str, BaseGeometry] = {}
        names: dict[str, tuple[str, str]] = {}
        for _, row in gdf.iterrows():
            pid = str(row[id_field])
            geom = row.geometry.buffer(0)
            parties[pid] = unary_union([parties[pid], geom]) if pid in parties else geom
            names[pid] = (str(row.get("name", pid) or pid), str(row.get("name_zh", pid) or pid))
        return cls(parties, names)

    # -- queries ------------------------------------------------------------------------------
    def geodesic_km(self, geom: BaseGeometry) -> float:
        if geom.is_empty:
            return 0.0
        return abs(self._geod.geometry_length(geom)) / 1000.0

    def party_at(self, lon: float, lat: float) -> str | None:
        pt = Point(lon, lat)
        for pid, prep in self._prep.items():
            if prep.covers(pt):
                return pid
        return None

    def inside_basin(self, lon: float, lat: float) -> bool:
        return self._basin_prep.covers(Point(lon, lat))

    def measure_track(self, coords: list[list[float]], party_id: str) -> tuple[float, float]:
        """(km inside the basin, km inside ``party_id``); TrackError when nothing is inside."""
        line = track_line(coords)
        if not self._basin_prep.intersects(line):
            raise TrackError("the track has no part inside the basin (轨迹不在流域范围内); "
                             "record the patrol along the basin's rivers")
        km_basin = self.geodesic_km(line.intersection(self.basin))
        own = self.parties.get(party_id)
        km_party = self.geodesic_km(line.intersection(own)) if own is not None else 0.0
        return km_basin, km_party

    # -- drawing ------------------------------------------------------------------------------
    def svg(self, tracks: list[list[list[float]]] = (), points: list[tuple[float, float]] = (),
            width: int = 640, highlight: str | None = None) -> str:
        """An inline SVG of the party outlines, with optional tracks and points on top."""
        import math

        minx, miny, maxx, maxy = self.basin.bounds
        kx = math.cos(math.radians((miny + maxy) / 2))
        w_deg, h_deg = (maxx - minx) * kx or 1e-6, (maxy - miny) or 1e-6
        height = max(1, int(width * h_deg / w_deg))
        pad = 8

        def xy(lon, lat):
            x = pad + (lon - minx) * kx / w_deg * (width - 2 * pad)
            y = pad + (maxy - lat) / h_deg * (height - 2 * pad)
            return f"{x:.1f},{y:.1f}"

        tol = max(w_deg, h_deg) / 2000
        parts = [f'<svg class="map" viewBox="0 0 {width} {height}" role="img" '
                 f'aria-label="basin map" xmlns="http://www.w3.org/2000/svg">']
        for pid, geom in sorted(self.parties.items()):
            g = geom.simplify(tol)
            polys = g.geoms if isinstance(g, MultiPolygon) else [g]
            d = []
            for poly in polys:
                if not isinstance(poly, Polygon) or poly.is_empty:
                    continue
                for ring in [poly.exterior, *poly.interiors]:
                    d.append("M" + "L".join(xy(x, y) for x, y in ring.coords) + "Z")
            cls = "party hl" if pid == highlight else "party"
            en, zh = self.names.get(pid, (pid, pid))
            parts.append(f'<path class="{cls}" d="{"".join(d)}"><title>{html.escape(zh)} '
                         f'{html.escape(en)}</title></path>')
            c = geom.representative_point()
            parts.append(f'<text class="label" x="{xy(c.x, c.y).split(",")[0]}" '
                         f'y="{xy(c.x, c.y).split(",")[1]}">{html.escape(zh)}</text>')
        for coords in tracks:
            parts.append('<polyline class="track" points="'
                         + " ".join(xy(x, y) for x, y in coords) + '"/>')
        for lon, lat in points:
            x, y = xy(lon, lat).split(",")
            parts.append(f'<circle class="finding" cx="{x}" cy="{y}" r="5"/>')
        parts.append("</svg>")
        return "".join(parts)

    def geojson(self) -> dict:
        return {"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"party_id": k}, "geometry": mapping(g)}
            for k, g in self.parties.items()]}


def track_line(coords: list[list[float]]) -> LineString:
    if len(coords) < 2:
        raise TrackError("a track needs at least two positions")
    for c in coords:
        if len(c) < 2 or not (-180 <= c[0] <= 180 and -90 <= c[1] <= 90):
            raise TrackError(f"position {c} is not [lon, lat] in degrees")
    return LineString([(float(c[0]), float(c[1])) for c in coords])


def parse_linestring(obj: dict) -> list[list[float]]:
    """Check a GeoJSON LineString and return its coordinates."""
    if not isinstance(obj, dict) or obj.get("type") != "LineString":
        raise TrackError("track must be a GeoJSON LineString")
    try:
        geom = shape(obj)
    except Exception as exc:
        raise TrackError(f"track is not valid GeoJSON: {exc}") from None
    coords = [list(c[:2]) for c in geom.coords]
    track_line(coords)
    return coords
