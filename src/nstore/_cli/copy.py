"""``nstore copy SRC DST``: every key from one store to another, in batches, resumable.

Resuming works by a checkpoint: the source's keys are listed and sorted once, then copied in that
order, a batch at a time (``get_many`` then ``set_many``). After a batch is stored in the
destination, the last key of the batch is written to a checkpoint file (atomically: temporary
file, fsync, rename). An interrupted copy (Ctrl-C, SIGTERM, SIGKILL, a crash) run again with the
same arguments skips the keys up to the checkpoint; at worst it copies the last batch again,
which is harmless because a set is idempotent. When the copy completes the checkpoint is removed.
The checkpoint lives outside both stores, so it never shows up as a key.
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from nstore._cli.common import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    CommandError,
    add_command,
    batched,
    human_bytes,
    open_url,
    parse_url,
    print_json,
)
from nstore._cli.progress import Progress, format_duration

__all__ = ["Checkpoint", "add_commands"]


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register ``nstore copy`` on the ``nstore`` subparsers ``sub``."""
    p = add_command(
        sub, common, "copy", "copy every key from one store to another (resumable)",
        "Copy every key of SRC (or every key under --prefix) to DST, in batches, with a\n"
        "progress bar on stderr when it is a terminal. A key that DST already has is\n"
        "overwritten with SRC's value; keys only in DST are left as they are. An interrupted\n"
        "copy resumes where it stopped when run again with the same arguments; --restart\n"
        "copies everything again.",
        "nstore copy ./files sqlite:///srv/app.db\n"
        "nstore copy app.db redis://localhost:6379/0 --prefix users/ --json",
    )  # fmt: skip
    p.add_argument("src", metavar="SRC", help="the store to copy from")
    p.add_argument("dst", metavar="DST", help="the store to copy to")
    p.add_argument("--prefix", metavar="P", default=None, help="copy only keys that start with P")
    p.add_argument("--batch-size", metavar="N", type=_positive, default=500, help="keys per batch (500)")
    p.add_argument(
        "--checkpoint",
        metavar="FILE",
        type=Path,
        default=None,
        help="where to keep the resume point (default: a file under $XDG_STATE_HOME/nstore)",
    )
    p.add_argument("--restart", action="store_true", help="ignore a previous checkpoint; copy every key")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar and no summary")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=_copy)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


class Checkpoint:
    """The last key copied, kept in a small JSON file written atomically."""

    def __init__(self, path: Path, identity: dict[str, Any]) -> None:
        self.path = path
        self.identity = identity

    def load(self) -> str | None:
        """The last key copied by an earlier run of the same copy, or None."""
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise CommandError(
                EXIT_USAGE, f"cannot read the checkpoint {self.path}: {exc}; use --restart to copy again"
            ) from exc
        if not isinstance(data, dict) or data.get("copy") != self.identity:
            return None
        last = data.get("last_key")
        return last if isinstance(last, str) else None

    def save(self, last_key: str) -> None:
        """Record ``last_key``; a crash leaves either the old or the new checkpoint."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w") as f:
                json.dump({"copy": self.identity, "last_key": last_key}, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def remove(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def _default_checkpoint(identity: dict[str, Any]) -> Path:
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:20]
    return Path(state) / "nstore" / "copy" / f"{digest}.json"


def _copy(args: argparse.Namespace) -> int:
    src_url, dst_url = parse_url(args.src), parse_url(args.dst)
    if str(src_url) == str(dst_url) and src_url.kind != "memory":
        raise CommandError(EXIT_USAGE, f"source and destination are the same store: {src_url}")
    identity = {"source": str(src_url), "destination": str(dst_url), "prefix": args.prefix}
    checkpoint = Checkpoint(args.checkpoint or _default_checkpoint(identity), identity)
    resume_after = None if args.restart else checkpoint.load()
    started = time.monotonic()
    with open_url(src_url, read_only=True) as src, open_url(dst_url, create=True) as dst:
        keys = sorted(src.iter_keys(args.prefix))
        skipped = bisect.bisect_right(keys, resume_after) if resume_after is not None else 0
        todo = keys[skipped:]
        progress = Progress(len(todo), "copy", enabled=False if args.quiet else None)
        missing = 0
        try:
            for batch in batched(todo, args.batch_size):
                values = src.get_many(batch)
                missing += len(batch) - len(values)  # deleted from the source since the listing
                dst.set_many(values)
                checkpoint.save(batch[-1])
                progress.advance(len(values), sum(map(len, values.values())))
        except KeyboardInterrupt:
            progress.close()
            sys.stderr.write(
                f"nstore copy: interrupted after {progress.count:,} keys; "
                "run the same command again to resume\n"
            )
            return EXIT_INTERRUPTED
        progress.close()
    checkpoint.remove()
    summary = {
        "source": str(src_url),
        "destination": str(dst_url),
        "prefix": args.prefix,
        "keys": len(keys),
        "copied": progress.count,
        "bytes": progress.bytes,
        "skipped": skipped,
        "missing": missing,
        "resumed": resume_after is not None,
        "seconds": round(time.monotonic() - started, 3),
    }
    if args.json:
        print_json(summary)
    elif not args.quiet:
        resumed = f", resumed after {skipped:,} keys already copied" if skipped else ""
        gone = f", {missing:,} deleted from the source meanwhile" if missing else ""
        sys.stderr.write(
            f"copied {progress.count:,} keys ({human_bytes(progress.bytes)}) from {src_url} to {dst_url} "
            f"in {format_duration(time.monotonic() - started)}{resumed}{gone}\n"
        )
    return EXIT_OK
