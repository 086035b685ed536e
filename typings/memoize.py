"""memoize: the store's value type is the function's return type, sync over Store, async over AsyncStore."""

from __future__ import annotations

import msgspec

from nstore import AsyncMemoized, AsyncMemoryStore, AsyncStore, Memoized, MemoizeStats, MemoryStore, Store, memoize
from nstore.codecs import Msgspec


class Report(msgspec.Struct):
    day: str
    total: int


backend = MemoryStore[str, bytes]()
reports: Store[str, Report] = backend.with_values(Msgspec(Report))
areports: AsyncStore[str, Report] = AsyncMemoryStore[str, bytes]().with_values(Msgspec(Report))


@memoize(reports, ttl=60)
def build(day: str, *, region: str = "eu") -> Report:
    return Report(day, 1)


@memoize(areports, leases=AsyncMemoryStore[str, bytes]())
async def abuild(day: str) -> Report:
    return Report(day, 1)


@memoize(MemoryStore[tuple[str, int], int](), key=lambda name, n: (name, n))
def keyed(name: str, n: int) -> int:
    return n


def intended_use() -> None:
    memoized: Memoized[..., str, Report] = build
    report: Report = build("mon", region="us")
    key: str = build.cache_key("mon")
    stats: MemoizeStats = build.cache_info()
    build.cache_clear()
    build.invalidate("mon")
    pair: tuple[str, int] = keyed.cache_key("a", 1)
    total: int = keyed("a", 1)


async def async_use() -> None:
    report: Report = await abuild("mon")
    await abuild.cache_clear()
    await abuild.invalidate("mon")
    memoized: AsyncMemoized[[str], str, Report] = abuild


def mistakes() -> None:
    # E: Argument 1 to "__call__" of "Memoizer" has incompatible type "Callable[[str], str]"; expected "Callable[[str], Report]"  [arg-type]
    # P: Argument of type "(day: str) -> str" cannot be assigned to parameter "fn" of type "(**P@__call__) -> Report" in function "__call__"  [reportArgumentType]
    @memoize(reports)
    def wrong_type(day: str) -> str:
        return day

    # E: Argument 1 to "memoize" has incompatible type "MemoryStore[bytes, Report]"; expected "Store[str, Report]"  [arg-type]
    # P: No overloads for "memoize" match the provided arguments  [reportCallIssue]
    # P: Argument of type "MemoryStore[bytes, Report]" cannot be assigned to parameter "store" of type "AsyncStore[str, R@memoize]" in function "memoize"  [reportArgumentType]
    @memoize(MemoryStore[bytes, Report]())
    def bytes_keys(day: str) -> Report:
        return Report(day, 1)

    # E: Argument 1 to "__call__" of "Memoizer" has incompatible type "Callable[[str], Coroutine[Any, Any, Report]]"; expected "Callable[[str], Report]"  [arg-type]
    # P: Argument of type "(day: str) -> CoroutineType[Any, Any, Report]" cannot be assigned to parameter "fn" of type "(**P@__call__) -> Report" in function "__call__"  [reportArgumentType]
    @memoize(reports)
    async def async_over_sync(day: str) -> Report:
        return Report(day, 1)

    # E: Argument 1 to "__call__" of "AsyncMemoizer" has incompatible type "Callable[[str], Report]"; expected "Callable[[str], Awaitable[Report]]"  [arg-type]
    # P: Argument of type "(day: str) -> Report" cannot be assigned to parameter "fn" of type "(**P@__call__) -> Awaitable[Report]" in function "__call__"  [reportArgumentType]
    @memoize(areports)
    def sync_over_async(day: str) -> Report:
        return Report(day, 1)

    # E: Argument "key" to "memoize" has incompatible type "Callable[[Any], int]"; expected "Callable[..., str]"  [arg-type]
    # E: Incompatible return value type (got "int", expected "str")  [return-value]
    # P: No overloads for "memoize" match the provided arguments  [reportCallIssue]
    # P: Argument of type "(day: Unknown) -> int" cannot be assigned to parameter "key" of type "(...) -> K@memoize" in function "memoize"  [reportArgumentType]
    @memoize(reports, key=lambda day: len(day))
    def int_key(day: str) -> Report:
        return Report(day, 1)

    # E: Argument 1 to "__call__" of "Memoized" has incompatible type "int"; expected "str"  [arg-type]
    # P: Argument of type "Literal[1]" cannot be assigned to parameter "day" of type "str" in function "__call__"  [reportArgumentType]
    build(1)
    # E: Unexpected keyword argument "colour" for "__call__" of "Memoized"  [call-arg]
    # P: No parameter named "colour"  [reportCallIssue]
    build("mon", colour="red")
    # E: Incompatible types in assignment (expression has type "Report", variable has type "str")  [assignment]
    # P: Type "Report" is not assignable to declared type "str"  [reportAssignmentType]
    not_a_report: str = build("mon")
    # E: No overload variant of "memoize" matches argument types "Store[str, Report]", "str"  [call-overload]
    # P: No overloads for "memoize" match the provided arguments  [reportCallIssue]
    # P: Argument of type "Literal['60']" cannot be assigned to parameter "ttl" of type "float | None" in function "memoize"  [reportArgumentType]
    memoize(reports, ttl="60")
    # E: Argument "leases" to "memoize" has incompatible type "Store[str, Report]"; expected "Store[str, bytes] | None"  [arg-type]
    # P: No overloads for "memoize" match the provided arguments  [reportCallIssue]
    # P: Argument of type "Store[str, Report]" cannot be assigned to parameter "leases" of type "Store[str, bytes] | None" in function "memoize"  [reportArgumentType]
    memoize(reports, leases=reports)
    # E: No overload variant of "memoize" matches argument types "AsyncStore[str, Report]", "MemoryStore[str, bytes]"  [call-overload]
    # P: No overloads for "memoize" match the provided arguments  [reportCallIssue]
    # P: Argument of type "MemoryStore[str, bytes]" cannot be assigned to parameter "leases" of type "AsyncStore[str, bytes] | None" in function "memoize"  [reportArgumentType]
    memoize(areports, leases=backend)
    # E: Unexpected keyword argument "tll" for overloaded function "memoize"  [call-overload]
    # E: No overload variant of "memoize" matches argument types "Store[str, Report]", "int"  [call-overload]
    # P: No overloads for "memoize" match the provided arguments  [reportCallIssue]
    memoize(reports, tll=60)


class Meter:
    @memoize(MemoryStore[str, str](), key=lambda self, day: day)
    def reading(self, day: str) -> str:
        return day

    @memoize(AsyncMemoryStore[str, str](), key=lambda self, day: day)
    async def areading(self, day: str) -> str:
        return day


async def methods() -> None:
    meter = Meter()
    text: str = meter.reading("mon")
    atext: str = await meter.areading("mon")
    key: str = Meter.reading.cache_key(meter, "mon")
    # E: Argument 1 has incompatible type "int"; expected "str"  [arg-type]
    # P: Argument of type "Literal[1]" cannot be assigned to parameter "day" of type "str"  [reportArgumentType]
    meter.reading(1)
    # E: Incompatible types in assignment (expression has type "str", variable has type "int")  [assignment]
    # P: Type "str" is not assignable to declared type "int"  [reportAssignmentType]
    not_text: int = await meter.areading("mon")
