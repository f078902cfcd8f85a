-- Whether the previously published database holds a cohort to compare with (cohort.screening).
select count(*) > 0 as has_cohort
from duckdb_tables()
where database_name = 'previous'
    and schema_name = 'cohort'
    and table_name = 'screening'
