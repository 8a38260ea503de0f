"""Helpers of the portal tests (see conftest.py for the fixtures)."""
from __future__ import annotations

import socket
import time
from pathlib import Path

import yaml

WEST, EAST = "west", "east"
X0, X1, X2, Y0, Y1 = 700_000.0, 710_000.0, 720_000.0, 3_290_000.0, 3_300_000.0
RECEIVED = {("west", 2024): "1000.00", ("west", 2023): "250.50"}
FAST_ARGON2 = {"time_cost": 1, "memory_kib": 64, "parallelism": 1}  # tests only


def utm_to_lonlat(x: float, y: float) -> tuple[float, float]:
    from pyproj import Transformer

    t = Transformer.from_crs("EPSG:32650", "EPSG:4326", always_xy=True)
    return t.transform(x, y)


def line_lonlat(points_utm) -> list[list[float]]:
    return [list(utm_to_lonlat(x, y)) for x, y in points_utm]


def write_basin(root: Path, make_config) -> Path:
    """Write a basin config (copy of config/) whose results hold the parties and a ledger."""
    import geopandas as gpd
    from shapely.geometry import box

    from gep.config import load_config
    from gep.ledger import api
    from gep.paths import Paths

    cfg_path = make_config(root, demo={"rows": 64, "cols": 64}, years=[2023, 2024])
    pdata = yaml.safe_load((cfg_path.parent / "portal.yaml").read_text(encoding="utf-8"))
    pdata["security"]["argon2"] = FAST_ARGON2
    (cfg_path.parent / "portal.yaml").write_text(yaml.safe_dump(pdata), encoding="utf-8")
    cfg = load_config(cfg_path)
    p = Paths(cfg)
    p.inputs.mkdir(parents=True, exist_ok=True)
    gdf = gpd.GeoDataFrame(
        {"party_id": [WEST, EAST], "name": ["West County", "East City"],
         "name_zh": ["西县", "东市"]},
        geometry=[box(X0, Y0, X1, Y1), box(X1, Y0, X2, Y1)], crs="EPSG:32650")
    gdf.to_file(p.party_file("parties.gpkg"), driver="GPKG")
    rows = ["transfer_id,year,clause,from_account,to_account,amount_cny,explanation"]
    for i, ((party, year), amt) in enumerate(sorted(RECEIVED.items())):
        rows.append(f"D-{i},{year},daily,escrow,{party},{amt},daily disbursement")
    # a settlement (the other book) must not count as received cash
    settle = root / "settle.csv"
    settle.write_text(rows[0] + "\nS-1,2024,base,central,west,99999.00,obligation\n",
                      encoding="utf-8")
    disb = root / "disb.csv"
    disb.write_text("\n".join(rows) + "\n", encoding="utf-8")
    p.ledger.mkdir(parents=True, exist_ok=True)
    api.append_transfers_csv(p.ledger / "ledger.db", settle, kind="settlement")
    api.append_transfers_csv(p.ledger / "ledger.db", disb, kind="disbursement")
    return cfg_path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Api:
    """A TestClient with helpers for the common steps."""

    def __init__(self, client, portal):
        self.c = client
        self.portal = portal

    def auth(self, token: str) -> dict:
        return {"Authorization": f"Bearer {token}"}

    def login(self, username: str, password: str = "password-123") -> dict:
        r = self.c.post("/api/v1/auth/login", json={"username": username,
                                                     "password": password})
        assert r.status_code == 200, r.text
        return self.auth(r.json()["access_token"])

    def admin(self, username: str = "boss") -> dict:
        from gep.portal import services as svc

        with self.portal.factory() as db:
            svc.create_user(self.portal, db, username, "password-123", "committee")
            db.commit()
        return self.login(username)

    def officer(self, party: str, committee: dict, username: str | None = None) -> dict:
        username = username or f"off_{party}"
        r = self.c.post("/api/v1/users", headers=committee, json={
            "username": username, "password": "password-123", "role": "officer",
            "party_id": party})
        assert r.status_code == 201, r.text
        return self.login(username)

    def chief(self, username: str, committee: dict, party: str = WEST,
              approve: bool = True) -> tuple[int, dict]:
        r = self.c.post("/api/v1/river-chiefs/applications", json={
            "name": f"Name {username}", "phone": "13800001111", "party_id": party,
            "username": username, "password": "password-123"})
        assert r.status_code == 201, r.text
        cid = r.json()["id"]
        if approve:
            r = self.c.post(f"/api/v1/river-chiefs/{cid}/approve", headers=committee)
            assert r.status_code == 200, r.text
        return cid, self.login(username)


def patrol_body(km: float = 3.5, x: float = 705_000.0, day: str = "2024-05-06",
                hour: int = 8, findings: int = 0) -> dict:
    """A straight north-south patrol of ``km`` km at easting ``x`` (UTM 50N)."""
    y = Y0 + 1000.0
    coords = line_lonlat([(x, y), (x, y + km * 500), (x, y + km * 1000)])
    return {"started_at": f"{day}T{hour:02d}:00:00+08:00",
            "ended_at": f"{day}T{hour + 1:02d}:30:00+08:00",
            "track": {"type": "LineString", "coordinates": coords},
            "findings": [{"kind": "garbage", "description": f"bags {i}",
                          "lon": coords[1][0], "lat": coords[1][1]} for i in range(findings)]}


def build(basin_config: Path, db_url: str, **overrides):
    from gep.config import load_config
    from gep.portal.factory import build_portal, settings_for

    cfg = load_config(basin_config)
    return build_portal(cfg, db_url, settings_for(cfg, overrides or None))


def wait_port(port: int, timeout: float = 60.0) -> None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")
