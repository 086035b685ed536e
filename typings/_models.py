"""The value types the typing cases share (imported as a sibling module by both checkers)."""

from __future__ import annotations

import msgspec
from pydantic import BaseModel


class User(msgspec.Struct):
    id: int
    name: str


class Account(BaseModel):
    id: int
    owner: str
