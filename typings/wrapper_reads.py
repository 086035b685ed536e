"""Wrappers: level names, counting and readers keep their types."""

from __future__ import annotations

from collections.abc import Mapping

from nstore import MemoryStore
from nstore.wrappers import CacheStore, LoggingStore

memory = MemoryStore[str, bytes]()
logged = LoggingStore(memory, level="INFO")
by_number = LoggingStore(memory, level=20)
count: int = logged.count_keys("a/")
reader: Mapping[str, bytes] = memory.reader()
cached = CacheStore(memory, MemoryStore[str, bytes]())
hits: int | None = cached.stats.hits
# P: Argument of type "float" cannot be assigned to parameter "level" of type "int | str" in function "__init__"  [reportArgumentType]
LoggingStore(memory, level=1.5)  # E: Argument "level" to "LoggingStore" has incompatible type "float"; expected "int | str"  [arg-type]
# P: Type "Mapping[str, bytes]" is not assignable to declared type "Mapping[int, bytes]"  [reportAssignmentType]
wrong: Mapping[int, bytes] = memory.reader()  # E: Incompatible types in assignment (expression has type "Mapping[str, bytes]", variable has type "Mapping[int, bytes]")  [assignment]
