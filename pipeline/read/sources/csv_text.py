"""Check that a CSV file is text sigmd can read, and say exactly why when it is not.

SPEC §2: CSV text is UTF-8 (a BOM is allowed) with LF or CRLF line ends; a file in another
encoding, with CR-only line ends or with a column name given twice is refused, naming the file
and the line or column. `header` reads only the start of a file (the header line) and refuses
what can be seen there: a file that cannot be opened (with the operating system's reason), UTF-16
or binary text, CR-only line ends, bytes that are not UTF-8, a duplicate column name.
`first_invalid_line` finds the line of the first byte that is not UTF-8 anywhere in a file; it
reads the whole file, so it runs only after polars, which reads strictly, has failed.

A refusal names the file and, for a column, the column as it appears in the header; it never
quotes the text of a data row (a CR-only file has no header line, so nothing of it is quoted).
"""

from __future__ import annotations

import codecs
import csv
import errno
import gzip
import os
import zlib
from pathlib import Path
from typing import IO

from pipeline.errors import ExtractRefused

HEADER_BYTES = 1 << 20  # a header line longer than this is not looked at here (polars reads it)
BLOCK = 1 << 20
UTF16_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def open_binary(path: Path) -> IO[bytes]:
    """Open a CSV file for reading bytes (decompressing .gz); refuse with the OS's reason."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise refusal_for_os_error(exc, path) from None
    if path.name.lower().endswith(".gz"):
        return gzip.GzipFile(fileobj=handle, mode="rb")  # type: ignore[return-value]
    return handle


def refusal_for_os_error(exc: OSError, path: Path) -> ExtractRefused:
    """The true reason a file cannot be read, in one line."""
    if exc.errno in (errno.EACCES, errno.EPERM):
        return ExtractRefused("permission denied: the file cannot be read", file=path.name)
    if exc.errno == errno.ELOOP:
        return ExtractRefused("symbolic link loop: the file cannot be opened", file=path.name)
    if exc.errno == errno.ENOENT:
        return ExtractRefused("symbolic link to a missing file", file=path.name)
    if exc.errno == errno.EISDIR:
        return ExtractRefused("is a folder, not a file", file=path.name)
    reason = os.strerror(exc.errno) if exc.errno is not None else type(exc).__name__
    return ExtractRefused(f"cannot be read ({reason})", file=path.name)


def header(path: Path) -> list[str] | None:
    """The column names of a CSV file's header, after refusing what its start shows is wrong.

    None when the start cannot be decompressed (a .gz cut short): polars then names the fault.
    """
    handle = open_binary(path)
    try:
        start = _read_start(handle)
    except (EOFError, gzip.BadGzipFile, zlib.error):
        return None
    except OSError as exc:
        raise refusal_for_os_error(exc, path) from None
    finally:
        handle.close()
    if start.startswith(UTF16_BOMS) or b"\x00" in start:
        raise ExtractRefused(
            "is UTF-16 (or binary), not UTF-8 text; save it as UTF-8 CSV", file=path.name
        )
    start = start.removeprefix(codecs.BOM_UTF8)
    line, newline, _ = start.partition(b"\n")
    if b"\r" in line.removesuffix(b"\r") or (not newline and b"\r" in line):
        raise ExtractRefused(
            "has CR-only line ends (old Mac style); save it with LF or CRLF line ends",
            file=path.name,
        )
    try:
        text = line.removesuffix(b"\r").decode("utf-8")
    except UnicodeDecodeError:
        raise ExtractRefused(
            "is not UTF-8 text (invalid bytes on line 1); save it as UTF-8", file=path.name
        ) from None
    names = next(csv.reader([text]), [])
    seen: set[str] = set()
    for name in names:
        canonical = name.strip().lower()
        if canonical in seen:
            raise ExtractRefused("duplicate column name", file=path.name, column=name)
        seen.add(canonical)
    return names


def first_invalid_line(path: Path) -> int | None:
    """The line number (1 = header) of the first byte that is not UTF-8, or None."""
    handle = open_binary(path)
    lines = 1
    carry = b""
    try:
        while True:
            block = handle.read(BLOCK)
            data = carry + block
            if not data:
                return None
            try:
                data.decode("utf-8")
                carry = b""
            except UnicodeDecodeError as exc:
                if block and exc.reason == "unexpected end of data":
                    carry = data[exc.start :]  # a character split across two blocks
                    lines += data.count(b"\n", 0, exc.start)
                    continue
                return lines + data.count(b"\n", 0, exc.start)
            lines += data.count(b"\n")
            if not block:
                return None
    except (OSError, EOFError, zlib.error):
        return None
    finally:
        handle.close()


def _read_start(handle: IO[bytes]) -> bytes:
    """The bytes up to and including the first LF, at most HEADER_BYTES."""
    chunks: list[bytes] = []
    size = 0
    while size < HEADER_BYTES:
        chunk = handle.read(65536)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if b"\n" in chunk:
            break
    return b"".join(chunks)
