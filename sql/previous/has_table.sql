-- Whether the previously published database has the given audit table (older versions lack some).
select count(*) > 0 as has_table
from duckdb_tables()
where database_name = 'previous'
    and schema_name = $schema_name
    and table_name = $table_name
