"""serve() and serve_in_thread() options: ServeOptions types them, so a misspelt or mistyped
option is a type error rather than a run-time TypeError or ConfigurationError."""

from __future__ import annotations

from nstore import MemoryStore
from nstore.server import ServeOptions, ServerHandle, serve, serve_in_thread

store = MemoryStore[str, bytes]()

# Intended use: these type-check.
handle: ServerHandle = serve_in_thread(store, max_body=1024, read_timeout=5.0, workers=4)
handle = serve_in_thread(store, "127.0.0.1", 0, tokens=["a-token-of-16-chars"], cors_origins=["*"])
handle = serve_in_thread(store, max_buffered=None, min_rate=1024, allowed_hosts=[".example.com"])
options: ServeOptions = {"keepalive_timeout": 2.0, "max_connections": 10}
handle = serve_in_thread(store, **options)
serve(store, port=8470, server="builtin", header_timeout=5)

# Misspelt or mistyped options are refused.
# P: No parameter named "max_bodyy"  [reportCallIssue]
serve_in_thread(store, max_bodyy=1024)  # E: Unexpected keyword argument "max_bodyy" for "serve_in_thread"; did you mean "max_body"?  [call-arg]
# P: Argument of type "Literal['5']" cannot be assigned to parameter "read_timeout" of type "float" in function "serve_in_thread"  [reportArgumentType]
serve_in_thread(store, read_timeout="5")  # E: Argument "read_timeout" to "serve_in_thread" has incompatible type "str"; expected "float"  [arg-type]
# P: Argument of type "Literal['4']" cannot be assigned to parameter "workers" of type "int | None" in function "serve"  [reportArgumentType]
serve(store, workers="4")  # E: Argument "workers" to "serve" has incompatible type "str"; expected "int | None"  [arg-type]
# P: Type "dict[str, float]" is not assignable to declared type "ServeOptions"  [reportAssignmentType]
bad: ServeOptions = {"timeout": 1.0}  # E: Extra key "timeout" for TypedDict "ServeOptions"  [typeddict-unknown-key]
