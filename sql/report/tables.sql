-- The tables of the opened database (to tell a sigmd cohort database from any other file).
select schema_name, table_name
from duckdb_tables()
where database_name = current_database()
