-- Open the previously published database, read-only, to carry its run history over.
attach $path as previous (type duckdb, read_only)
