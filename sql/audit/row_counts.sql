-- audit.row_counts: rows read, used, quarantined and ignored per input table, kept across runs.
create table audit.row_counts (
    run_number integer not null,
    run_id varchar not null,
    table_name varchar not null,
    read bigint,
    used bigint,
    quarantined bigint,
    ignored bigint
)
