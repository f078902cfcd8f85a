-- Tables and columns of the cohort and audit schemas that carry no comment (there must be none).
with

tables as (

    select schema_name, table_name, null::varchar as column_name, comment
    from duckdb_tables()
    where database_name = current_database()

),

columns as (

    select schema_name, table_name, column_name, comment
    from duckdb_columns()
    where database_name = current_database()

),

final as (

    select * from tables
    union all
    select * from columns

)

select schema_name, table_name, column_name
from final
where schema_name in ('cohort', 'audit')
    and coalesce(trim(comment), '') = ''
order by all
