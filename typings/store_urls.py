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
nstore.open("app.db", durabilty="full")  # E: Unexpected keyword argument "durabilty" for "open"; did you mean "durability"?  [call-arg]
nstore.open("app.db", durability="fast")  # E: Argument "durability" to "open" has incompatible type "Literal['fast']"; expected "Literal['normal', 'full', 'off']"  [arg-type]
nstore.open("memory://", maxsize="10")  # E: Argument "maxsize" to "open" has incompatible type "str"; expected "int"  [arg-type]
nstore.open("file:///srv/d", durable="no")  # E: Argument "durable" to "open" has incompatible type "str"; expected "bool"  [arg-type]
nstore.urls.parse("redis://redis-1.example/0", replica=1)  # E: Unexpected keyword argument "replica" for "parse"; did you mean "replicas"?  [call-arg]
nstore.open("https://store.example/", api="rest")  # E: Argument "api" to "open" has incompatible type "Literal['rest']"; expected "Literal['nstore', 'plain']"  [arg-type]
nstore.open(durability="full", path="x.db")  # E: Unexpected keyword argument "path" for "open"  [call-arg]
