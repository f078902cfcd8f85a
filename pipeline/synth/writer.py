"""Streamed table files: chunks of rows appended as CSV, gzipped CSV or Parquet.

Every column is written as text, like an extract query's export. Gzip headers carry no time
stamp or file name and Parquet no time-dependent metadata, so one seed gives the same bytes.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import IO, cast

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq


class TableWriter:
    """Appends chunks to one table file, every column as text (CSV, gzipped CSV or Parquet)."""

    def __init__(self, path: Path, columns: tuple[str, ...], file_format: str) -> None:
        self.path = path
        self.columns = columns
        self.file_format = file_format
        self.rows = 0
        self._schema = pa.schema([(c, pa.string()) for c in columns])
        self._raw: IO[bytes] | None = None
        self._csv: IO[bytes] | None = None
        self._parquet: pq.ParquetWriter | None = None

    def write(self, frame: pl.DataFrame) -> None:
        frame = frame.select(pl.col(c).cast(pl.String) for c in self.columns)
        if self.file_format == "parquet":
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self.path, self._schema, compression="zstd")
            self._parquet.write_table(frame.to_arrow().cast(self._schema))
        else:
            header = self._csv is None
            if self._csv is None:
                self._raw = self.path.open("wb")
                # mtime=0 and no file name in the gzip header: same seed, same bytes.
                self._csv = self._raw
                if self.file_format == "csv.gz":
                    zipped = gzip.GzipFile(
                        filename="", mode="wb", fileobj=self._raw, mtime=0, compresslevel=6
                    )
                    self._csv = cast(IO[bytes], zipped)
            frame.write_csv(self._csv, include_header=header)
        self.rows += frame.height

    def close(self) -> None:
        if self._csv is None and self._parquet is None:
            self.write(pl.DataFrame({c: pl.Series([], dtype=pl.String) for c in self.columns}))
        if self._parquet is not None:
            self._parquet.close()
        if self._csv is not None and self._csv is not self._raw:
            self._csv.close()
        if self._raw is not None:
            self._raw.close()


def write_split(writers: list[TableWriter], frame: pl.DataFrame) -> None:
    """Spread a chunk's rows over the table's files in contiguous slices."""
    bounds = np.linspace(0, frame.height, len(writers) + 1).astype(np.int64)
    for writer, start, stop in zip(writers, bounds[:-1], bounds[1:], strict=True):
        writer.write(frame.slice(int(start), int(stop - start)))
