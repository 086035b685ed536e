"""Backends: each stores ``str`` keys and ``bytes`` values (MemoryStore: any types)."""
