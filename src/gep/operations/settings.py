"""``config/operations.yaml``: the daily operations of a monitoring station (issue 18).

Read with :func:`gep.io.read_yaml` and validated by pydantic; errors name the key and the fix.
Recipients' addresses are personal data: they live here and in the service database only,
never in the ledger or on a public page.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from gep.io import load_settings

DEFAULT_FILE = "operations.yaml"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SmtpSettings(_Model):
    host: str = "localhost"
    port: int = Field(25, ge=1, le=65535)
    sender: str = Field("gep@localhost", description="From: address of alert e-mails")
    starttls: bool = False
    username: str | None = None
    password_env: str | None = Field(None, description="name of the environment variable "
                                     "holding the SMTP password (never the password itself)")
    to: list[str] = Field(default_factory=list, description="alert e-mail recipients")

    @field_validator("to")
    @classmethod
    def _addresses(cls, v: list[str]) -> list[str]:
        for a in v:
            if "@" not in a or any(c.isspace() for c in a):
                raise ValueError(f"'{a}' is not an e-mail address")
        return v


class Webhook(_Model):
    url: str
    name: str | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError(f"'{v}' is not an http(s) URL")
        return v


class AlertSettings(_Model):
    smtp: SmtpSettings | None = None
    webhooks: list[Webhook] = Field(default_factory=list)
    attempts: int = Field(4, ge=1, le=20, description="tries per recipient and alert")
    backoff_seconds: float = Field(2.0, ge=0, description="wait before the 2nd try; "
                                   "doubled before each next one (exponential back-off)")
    timeout_seconds: float = Field(10.0, gt=0)


class OperationsSettings(_Model):
    database: str | None = Field(None, description="SQLAlchemy URL of the service database "
                                 "(sqlite:///... or postgresql+psycopg://...); default "
                                 "results/<basin>/operations/operations.db")
    run_at: str = Field("02:00", description="local time (basin time zone) after which the "
                        "scheduler runs yesterday's daily run; leave the gateways time to post "
                        "the hour after midnight (the spike test looks one reading ahead)")
    stale_after_hours: float = Field(3.0, gt=0, description="a station without an upload "
                                     "for this long is flagged stale on the dashboard")
    future_tolerance_minutes: float = Field(10.0, ge=0, description="readings stamped more "
                                            "than this in the future are refused")
    max_batch_readings: int = Field(20000, ge=1)
    alerts: AlertSettings = Field(default_factory=AlertSettings)

    @field_validator("run_at")
    @classmethod
    def _time(cls, v: str) -> str:
        try:
            dt.time.fromisoformat(v)
        except ValueError:
            raise ValueError(f"'{v}' is not a time of day HH:MM") from None
        return v


def load_operations(path: str | Path | None) -> OperationsSettings:
    """Read and validate ``operations.yaml``; a missing file (None) gives the defaults."""
    if path is None or not Path(path).is_file():
        return OperationsSettings()
    return load_settings(path, OperationsSettings, what="operations configuration",
                         example="config/operations.yaml",
                         doc="see docs/operations.md and config/operations.yaml")
