"""Request and response bodies of the JSON API (they make the OpenAPI document)."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

FINDING_KINDS = ("pollution", "garbage", "illegal_fishing", "sand_mining", "damaged_bank",
                 "damaged_facility", "other")
REPORT_CATEGORIES = ("pollution", "garbage", "illegal_fishing", "sand_mining", "fund_misuse",
                     "facility", "other")
PROJECT_CATEGORIES = ("water_treatment", "reforestation", "wetland", "monitoring",
                      "relocation", "patrol", "other")

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                             max_length=200)]
Username = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{3,64}$")]
Password = Annotated[str, StringConstraints(min_length=8, max_length=256)]
Lon = Annotated[float, Field(ge=-180, le=180)]
Lat = Annotated[float, Field(ge=-90, le=90)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ApplicationIn(_In):
    name: ShortText
    phone: Annotated[str, StringConstraints(pattern=r"^\+?[0-9][0-9 -]{5,30}$")]
    party_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    username: Username
    password: Password


class ApplicationOut(BaseModel):
    id: int
    status: str


class LoginIn(_In):
    username: Annotated[str, StringConstraints(max_length=64)]
    password: Annotated[str, StringConstraints(max_length=256)]


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class FindingIn(_In):
    kind: Literal[FINDING_KINDS]  # type: ignore[valid-type]
    description: Text
    lon: Lon
    lat: Lat


class PatrolIn(_In):
    started_at: datetime
    ended_at: datetime
    track: dict[str, Any] = Field(description="GeoJSON LineString, [lon, lat] positions")
    findings: list[FindingIn] = Field(default_factory=list, max_length=50)

    @field_validator("ended_at")
    @classmethod
    def _order(cls, v, info):
        start = info.data.get("started_at")
        if start is not None and _naive(v) <= _naive(start):
            raise ValueError("ended_at must be after started_at")
        if start is not None and (_naive(v) - _naive(start)).total_seconds() > 24 * 3600:
            raise ValueError("a patrol lasts at most 24 hours")
        return v


def _naive(d: datetime) -> datetime:
    return d.replace(tzinfo=None) if d.tzinfo is None else d.astimezone().replace(tzinfo=None)


class PatrolOut(BaseModel):
    id: int
    status: str


class ReviewIn(_In):
    decision: Literal["accept", "reject"]
    confirmed_findings: list[int] = Field(default_factory=list, max_length=50)
    note: Annotated[str, StringConstraints(max_length=2000)] = ""


class ReviewOut(BaseModel):
    id: int
    status: str
    points_awarded: int
    points_reason: str


class PointsEntryOut(BaseModel):
    points: int
    reason: str
    patrol_id: int | None
    created_at: datetime


class PointsOut(BaseModel):
    chief_id: int
    pseudonym: str
    balance: int
    entries: list[PointsEntryOut]


class ReportIn(_In):
    category: Literal[REPORT_CATEGORIES]  # type: ignore[valid-type]
    description: Text
    lon: Lon
    lat: Lat
    contact: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None


class ReportCreated(BaseModel):
    tracking_code: str


class ReportPublic(BaseModel):
    tracking_code: str
    category: str
    status: str
    public_reply: str
    outcome: str
    received_at: datetime
    resolved_at: datetime | None


class AssignIn(_In):
    assignee: Username | None = Field(None, description="committee username; default: you")


class ResolveIn(_In):
    outcome: Literal["confirmed", "not_confirmed", "referred"]
    reply: Text


class ReplyIn(_In):
    reply: Text


class ProjectIn(_In):
    party_id: Annotated[str, StringConstraints(max_length=64)] | None = Field(
        None, description="defaults to the officer's own party")
    year: int = Field(ge=1980, le=2100)
    name: ShortText
    category: Literal[PROJECT_CATEGORIES]  # type: ignore[valid-type]
    amount_cny: Decimal = Field(gt=0, max_digits=15, decimal_places=2)
    started_on: date
    ended_on: date | None = None
    progress: int = Field(0, ge=0, le=100)
    description: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] = ""


class EvidenceOut(BaseModel):
    id: int
    name: str
    content_type: str
    sha256: str
    size_bytes: int


class ProjectOut(BaseModel):
    id: int
    party_id: str
    year: int
    name: str
    category: str
    amount_cny: str
    started_on: date
    ended_on: date | None
    progress: int
    description: str
    evidence: list[EvidenceOut]


class PartyYearOut(BaseModel):
    party_id: str
    year: int
    received_cny: str
    spent_cny: str
    projects: list[ProjectOut]


class UserIn(_In):
    username: Username
    password: Password
    role: Literal["committee", "officer"]
    party_id: Annotated[str, StringConstraints(max_length=64)] | None = None


class UserOut(BaseModel):
    id: int
    username: str
    role: str
    party_id: str | None


class LeaderOut(BaseModel):
    pseudonym: str
    party_id: str
    points: int
    accepted_patrols: int
