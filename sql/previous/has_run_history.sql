-- Whether the previously published database is a sigmd cohort database (it has audit.runs).
select count(*) > 0 as has_run_history
from duckdb_tables()
where database_name = 'previous'
    and schema_name = 'audit'
    and table_name = 'runs'
