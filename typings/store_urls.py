"""nstore.open(url, **options): the options are typed, so a misspelt one is a type error."""

from __future__ import annotations

import nstore
import nstore.urls
from nstore import Store

# Intended use: these type-check.
db: Store[str, bytes] = nstore.open("app.db", durability="full", timeout=2)
cache = nstore.open("redis://redis-1.example:6379/0", prefix="app:", ttl=60, replicas=1, retries=0)
remote = nstore.open("https://store.example/", token="s3cret", api="plain", connect_timeout=1.5)
memory = nstore.open("memory://", maxsize=1000, maxbytes=1 << 20)
files = nstore.open("data/", durable=False)
parsed: nstore.urls.StoreURL = nstore.urls.parse("app.db", table="things")
options: nstore.urls.StoreOptions = {"durability": "off", "timeout": 0.5}
from_dict = nstore.open("app.db", **options)

# Misspelt options and wrong values are type errors, not only run-time ones.
# P: No parameter named "durabilty"  [reportCallIssue]
nstore.open("app.db", durabilty="full")  # E: Unexpected keyword argument "durabilty" for "open"; did you mean "durability"?  [call-arg]
# P: Argument of type "Literal['fast']" cannot be assigned to parameter "durability" of type "Literal['normal', 'full', 'off']" in function "open"  [reportArgumentType]
nstore.open("app.db", durability="fast")  # E: Argument "durability" to "open" has incompatible type "Literal['fast']"; expected "Literal['normal', 'full', 'off']"  [arg-type]
# P: Argument of type "Literal['10']" cannot be assigned to parameter "maxsize" of type "int" in function "open"  [reportArgumentType]
nstore.open("memory://", maxsize="10")  # E: Argument "maxsize" to "open" has incompatible type "str"; expected "int"  [arg-type]
# P: Argument of type "Literal['no']" cannot be assigned to parameter "durable" of type "bool" in function "open"  [reportArgumentType]
nstore.open("file:///srv/d", durable="no")  # E: Argument "durable" to "open" has incompatible type "str"; expected "bool"  [arg-type]
# P: No parameter named "replica"  [reportCallIssue]
nstore.urls.parse("redis://redis-1.example/0", replica=1)  # E: Unexpected keyword argument "replica" for "parse"; did you mean "replicas"?  [call-arg]
# P: Argument of type "Literal['rest']" cannot be assigned to parameter "api" of type "Literal['nstore', 'plain']" in function "open"  [reportArgumentType]
nstore.open("https://store.example/", api="rest")  # E: Argument "api" to "open" has incompatible type "Literal['rest']"; expected "Literal['nstore', 'plain']"  [arg-type]
# P: No parameter named "path"  [reportCallIssue]
nstore.open(durability="full", path="x.db")  # E: Unexpected keyword argument "path" for "open"  [call-arg]
