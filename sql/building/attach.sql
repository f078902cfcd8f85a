-- Create the new database file under a fixed name, whatever the file is called (a file named
-- cohort.duckdb would otherwise be a catalog "cohort" that clashes with the schema "cohort"),
-- in the storage format that DuckDB 1.4+ clients can read.
attach $path as building (storage_version $storage_version)
