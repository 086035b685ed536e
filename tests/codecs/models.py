"""Module-level value types for the codec tests (specs record their import paths)."""

from __future__ import annotations

import dataclasses
import datetime

from hypothesis import strategies as st

from nstore._cli._records import RecordData, RecordModel, RecordStruct


class User(RecordStruct):
    """The 8-field record of the benchmarks, as a msgspec Struct."""


class UserModel(RecordModel):
    """The same record as a pydantic model."""


@dataclasses.dataclass
class UserData(RecordData):
    """The same record as a plain dataclass."""


FIELDS = {
    "id": st.integers(-(2**63), 2**63 - 1),
    "name": st.text(max_size=20),
    "email": st.text(max_size=20),
    "tags": st.lists(st.text(max_size=8), max_size=4),
    "score": st.floats(allow_nan=False, allow_infinity=False),
    "active": st.booleans(),
    "created": st.datetimes(min_value=datetime.datetime(1970, 1, 1), timezones=st.just(datetime.UTC)),
    "counts": st.dictionaries(st.text(max_size=8), st.integers(-(2**63), 2**63 - 1), max_size=4),
}

users = st.builds(User, **FIELDS)
user_models = st.builds(UserModel, **FIELDS)
user_data = st.builds(UserData, **FIELDS)


def sample_user(i: int = 1) -> User:
    """A deterministic record for examples and size tests."""
    return User(
        id=i,
        name=f"user{i}",
        email=f"user{i}@example.org",
        tags=["admin", "beta"],
        score=i / 3,
        active=i % 2 == 0,
        created=datetime.datetime(2024, 1, 1, 12, 0, i % 60, tzinfo=datetime.UTC),
        counts={"logins": i, "posts": 2 * i},
    )
