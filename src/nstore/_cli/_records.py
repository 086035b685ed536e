"""The 8-field record ``nstore bench`` stores through typed pipelines (module-level, so importable)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import msgspec
import pydantic

__all__ = ["RecordData", "RecordModel", "RecordStruct", "fields"]


class RecordStruct(msgspec.Struct):
    id: int
    name: str
    email: str
    tags: list[str]
    score: float
    active: bool
    created: dt.datetime
    counts: dict[str, int]


class RecordModel(pydantic.BaseModel):
    id: int
    name: str
    email: str
    tags: list[str]
    score: float
    active: bool
    created: dt.datetime
    counts: dict[str, int]


@dataclasses.dataclass
class RecordData:
    id: int
    name: str
    email: str
    tags: list[str]
    score: float
    active: bool
    created: dt.datetime
    counts: dict[str, int]


def fields(i: int) -> dict[str, Any]:
    """The fields of record number ``i``."""
    return {
        "id": i,
        "name": f"user {i}",
        "email": f"user{i}@example.com",
        "tags": ["alpha", "beta", f"t{i % 7}"],
        "score": i * 0.5,
        "active": i % 2 == 0,
        "created": dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=i),
        "counts": {"views": i, "likes": i // 3},
    }
