"""``nstore copy SRC DST``: every key from one store to another, a page at a time, resumable.

The source is listed with ``keys_page`` from its cursor, one page of ``--batch-size`` keys at a
time (``get_many`` from the source, then ``set_many`` into the destination), so memory holds one
page whatever the store's size. After a page is stored in the destination, the cursor of the
next page is written to a checkpoint file (atomically: temporary file, fsync, rename). An
interrupted copy (Ctrl-C, SIGTERM, SIGKILL, a crash) run again with the same arguments lists on
from that cursor; at worst it copies the last page again, which is harmless because a set is
idempotent. When the copy completes the checkpoint is removed. The checkpoint lives outside
both stores, so it never shows up as a key.

A checkpoint of an older nstore (format 1: the last key of a sorted listing) still resumes:
the listing starts over and the keys up to that key are skipped, not copied again.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nstore._cli._overlap import refuse_overlap
from nstore._cli.common import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    CommandError,
    add_command,
    human_bytes,
    open_url,
    parse_url,
    print_json,
)
from nstore._cli.progress import Progress, format_duration

if TYPE_CHECKING:
    from nstore.store import Store

__all__ = ["FORMAT", "Checkpoint", "Resume", "add_commands"]


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


#: The checkpoint's format: 2 records the source's listing cursor. Format 1 (no "format" field)
#: recorded the last key copied, from a sorted listing of every key.
FORMAT = 2


@dataclass(frozen=True)
class Resume:
    """Where an interrupted copy goes on.

    ``cursor`` is the source's ``keys_page`` cursor to list from (None: from the start);
    ``listed`` counts the keys listed before it; ``through`` (from a format 1 checkpoint) is
    the last key an older ``nstore copy`` copied in sorted order: every key up to it was copied
    then, so it is skipped wherever the listing meets it.
    """

    cursor: str | None = None
    listed: int = 0
    through: str | None = None


class Checkpoint:
    """Where a copy stands, kept in a small JSON file written atomically."""

    def __init__(self, path: Path, identity: dict[str, Any]) -> None:
        self.path = path
        self.identity = identity

    def load(self) -> Resume | None:
        """Where an earlier run of this copy stopped, or None if there is no checkpoint.

        A checkpoint that cannot be read, that records another copy, or that a newer nstore
        wrote is refused (never ignored: that would copy again, or skip, keys unasked).
        """
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise self._refused(f"cannot read it ({exc})") from exc
        if not isinstance(data, dict):
            raise self._refused("it is not a checkpoint of nstore copy")
        if data.get("copy") != self.identity:
            raise self._refused(f"it records another copy ({_describe(data.get('copy'))})")
        version = data.get("format", 1)
        if version == 1 and isinstance(data.get("last_key"), str):
            return Resume(through=data["last_key"])
        if version != FORMAT:
            raise self._refused(f"it has format {version!r}, from a newer nstore (this one reads 1 and 2)")
        cursor, listed, through = data.get("cursor"), data.get("listed"), data.get("through")
        if (
            not isinstance(cursor, str)
            or isinstance(listed, bool)
            or not isinstance(listed, int)
            or listed < 0
            or not (through is None or isinstance(through, str))
        ):
            raise self._refused("its fields are not a cursor, a count and a key")
        return Resume(cursor, listed, through)

    def _refused(self, why: str) -> CommandError:
        return CommandError(
            EXIT_USAGE,
            f"cannot resume from the checkpoint {self.path}: {why}; give this copy its own "
            "--checkpoint FILE, or use --restart to copy every key again (and overwrite that file)",
        )

    def save(self, resume: Resume) -> None:
        """Record ``resume``; a crash leaves either the old or the new checkpoint."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".tmp-", suffix=".json")
        record = {"format": FORMAT, "copy": self.identity, **dataclasses.asdict(resume)}
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(record, f)
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


def _describe(identity: object) -> str:
    if not isinstance(identity, dict):
        return "unknown"
    prefix = identity.get("prefix")
    where = f"{identity.get('source')} to {identity.get('destination')}"
    return where + (f", prefix {prefix!r}" if prefix is not None else "")


def _default_checkpoint(identity: dict[str, Any]) -> Path:
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:20]
    return Path(state) / "nstore" / "copy" / f"{digest}.json"


def _copy(args: argparse.Namespace) -> int:
    src_url, dst_url = parse_url(args.src), parse_url(args.dst)
    refuse_overlap(src_url, dst_url, args.prefix)
    identity = {"source": str(src_url), "destination": str(dst_url), "prefix": args.prefix}
    checkpoint = Checkpoint(args.checkpoint or _default_checkpoint(identity), identity)
    resumed = None if args.restart else checkpoint.load()
    resume = resumed or Resume()
    started = time.monotonic()
    with open_url(src_url, read_only=True) as src, open_url(dst_url, create=True) as dst:
        show = _shows_progress(args)
        # Counting costs a listing on some stores: only for a bar that shows it.
        total = max(src.count_keys(args.prefix) - resume.listed, 0) if show else None
        progress = Progress(total, "copy", enabled=show)
        run = _Run(resume.listed, skipped=resume.listed)  # listed before: copied by an earlier run
        try:
            _copy_pages(src, dst, args.prefix, args.batch_size, resume, checkpoint, run, progress)
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
        "keys": run.listed,
        "copied": progress.count,
        "bytes": progress.bytes,
        "skipped": run.skipped,
        "missing": run.missing,
        "resumed": resumed is not None,
        "seconds": round(time.monotonic() - started, 3),
    }
    if args.json:
        print_json(summary)
    elif not args.quiet:
        done = f", resumed after {run.skipped:,} keys already copied" if run.skipped else ""
        gone = f", {run.missing:,} deleted from the source meanwhile" if run.missing else ""
        sys.stderr.write(
            f"copied {progress.count:,} keys ({human_bytes(progress.bytes)}) from {src_url} to {dst_url} "
            f"in {format_duration(time.monotonic() - started)}{done}{gone}\n"
        )
    return EXIT_OK


def _shows_progress(args: argparse.Namespace) -> bool:
    return not args.quiet and sys.stderr.isatty()


@dataclass
class _Run:
    """What a run has counted: keys listed (by earlier runs too), skipped, missing."""

    listed: int
    skipped: int
    missing: int = 0


def _copy_pages(
    src: Store[str, bytes],
    dst: Store[str, bytes],
    prefix: str | None,
    size: int,
    resume: Resume,
    checkpoint: Checkpoint,
    run: _Run,
    progress: Progress,
) -> None:
    """Copy a page of keys at a time from ``resume``'s cursor, saving the next cursor after each.

    Only one page of keys and values is held at a time. The checkpoint is saved after the
    page's values are stored, so a run stopped at any point resumes with no key left out.
    """
    cursor, through = resume.cursor, resume.through
    while True:
        page = src.keys_page(prefix, cursor=cursor, limit=size)
        keys = page.keys
        run.listed += len(keys)
        if through is not None:  # copied by an older nstore copy, in sorted order
            keys = [key for key in keys if key > through]
            run.skipped += len(page.keys) - len(keys)
        if keys:
            values = src.get_many(keys)
            run.missing += len(keys) - len(values)  # deleted from the source since it was listed
            dst.set_many(values)
            progress.advance(len(values), sum(map(len, values.values())))
        if page.cursor is None:
            return
        cursor = page.cursor
        checkpoint.save(Resume(cursor, run.listed, through))
