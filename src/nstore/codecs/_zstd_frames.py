"""The zstd frame format as :class:`~nstore.codecs.Zstd` reads it from headers (RFC 8878, 3.1): the
bound on what a frame header can declare, and where frames end, without decompressing them.
"""

from __future__ import annotations

import zstandard

from nstore.errors import DecodeError

__all__ = ["check_whole_frames", "small_frame_bound"]

MAGIC = b"\x28\xb5\x2f\xfd"
SKIPPABLE = 0x184D2A50
"""The magic number of skippable frames, with its low four bits free."""


def small_frame_bound(max_size: int) -> bytes:
    """Bytes above every zstd frame whose header cannot declare more than ``max_size``.

    A frame is the magic number, then the header descriptor, whose top two bits give the width of
    the content size field: a descriptor below 0x40 declares at most 255 bytes (or no size), below
    0x80 at most 65791 (RFC 8878, 3.1.1.1.1). Input below the bound that is not such a frame fails
    in zstd without allocating: this build reads no legacy formats.
    """
    if max_size >= 65791:
        return MAGIC + b"\x80"
    return MAGIC + (b"\x40" if max_size >= 255 else b"")


def check_whole_frames(data: bytes) -> None:
    """Raise DecodeError unless ``data`` is whole frames back to back, up to its last byte.

    zstd's streaming decoder stops silently where its input stops, even inside a frame, so a
    truncated frame would decode to what precedes the cut; this reads only the frame and block
    headers, so it costs little beside the decoding.
    """
    view, end = memoryview(data).cast("B"), 0
    try:
        while end < len(view):
            end = _frame_end(view, end)
    except EOFError:
        raise DecodeError("Expected a whole zstd frame. Got a truncated one instead", codec="zstd") from None
    except zstandard.ZstdError as exc:
        if end:
            got = f"{len(view) - end} trailing bytes after the last frame"
            raise DecodeError(f"Expected only zstd frames. Got {got} instead", codec="zstd") from exc
        raise DecodeError(f"Expected a zstd frame: {exc}", codec="zstd") from exc


def _frame_end(data: memoryview, start: int) -> int:
    """Where the frame at ``start`` ends; ZstdError where none starts, EOFError if it is cut short.

    A skippable frame gives its size after its magic number. A zstd frame is its header, blocks,
    the last marked in its 3-byte header (bit 0; bits 1-2 the type, the rest the size), and a
    4-byte checksum if the frame header says so.
    """
    if int.from_bytes(data[start : start + 4], "little") & ~0xF == SKIPPABLE:
        end = start + 8 + int.from_bytes(data[start + 4 : start + 8], "little")
    else:
        frame = data[start:]
        end = start + zstandard.frame_header_size(frame)
        checksum = zstandard.get_frame_parameters(frame).has_checksum
        last = 0
        while not last:
            if end + 3 > len(data):
                raise EOFError
            header = int.from_bytes(data[end : end + 3], "little")
            last = header & 1
            end += 3 + (1 if header & 6 == 2 else header >> 3)  # an RLE block holds one byte
        end += 4 * checksum
    if end > len(data):
        raise EOFError
    return end
