"""``config/portal.yaml``: points rules, rate limits, security and upload limits, validated.

Errors name the file, the key and the fix (``ConfigError``), like the basin config.
"""
from __future__ import annotations

from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from gep.io import load_settings as load_settings_file
from gep.io import validate_settings


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PointsRules(_Model):
    per_patrol: int = Field(10, ge=0, description="Points for an accepted patrol.")
    per_km: int = Field(2, ge=0, description="Points per whole km of track inside the chief's "
                        "own party (geodesic, WGS 84).")
    max_per_patrol: int = Field(50, ge=0, description="Cap on per_patrol + per_km points.")
    per_confirmed_finding: int = Field(20, ge=0, description="Points per finding the "
                                       "committee confirms.")
    daily_patrol_limit: int = Field(1, ge=0, description="Accepted patrols per chief per local "
                                    "day that earn points; later ones earn 0.")


class RateLimits(_Model):
    reports_per_minute: int = Field(10, ge=1)
    applications_per_minute: int = Field(10, ge=1)
    logins_per_minute: int = Field(30, ge=1)
    lookups_per_minute: int = Field(60, ge=1, description="Report status look-ups by "
                                    "tracking code (slows guessing codes).")


class Argon2Params(_Model):
    time_cost: int = Field(3, ge=1)
    memory_kib: int = Field(65536, ge=8, description="Lower only in tests.")
    parallelism: int = Field(1, ge=1)


class Security(_Model):
    token_minutes: int = Field(60, ge=1, le=60 * 24 * 30)
    argon2: Argon2Params = Argon2Params()
    cookie_secure: bool = Field(False, description="Mark cookies Secure (behind HTTPS).")


class Limits(_Model):
    max_request_mb: float = Field(30, gt=0)
    max_photo_mb: float = Field(5, gt=0)
    max_photos: int = Field(5, ge=0)


class FundUse(_Model):
    received_kind: Literal["settlement", "disbursement"] = Field(
        "disbursement", description="Ledger book whose transfers to a party, per year, are "
        "what the party received and may spend.")


class PortalSettings(_Model):
    points: PointsRules = PointsRules()
    timezone: str = "Asia/Shanghai"
    rate_limits: RateLimits = RateLimits()
    security: Security = Security()
    limits: Limits = Limits()
    fund_use: FundUse = FundUse()
    public_url: str = Field("http://127.0.0.1:8000", pattern=r"^https?://[^\s<>\"']+$")

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"'{v}' is not an IANA time zone such as Asia/Shanghai") from None
        return v

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def load_settings(path: str | Path | None, overrides: dict | None = None) -> PortalSettings:
    """Read and validate portal.yaml (``None``: all defaults)."""
    kw = dict(example="config/portal.yaml", doc="see docs/portal.md")
    if path is None:
        return validate_settings(dict(overrides or {}), PortalSettings,
                                 file="<portal defaults>", **kw)
    return load_settings_file(path, PortalSettings, what="portal settings",
                              overrides=overrides,
                              missing_fix="point portal.config of the basin config at a "
                                          "portal.yaml", **kw)
