-- audit.ignored: rows set aside as not relevant, per table and reason, kept across runs.
create table audit.ignored (
    run_number integer not null,
    run_id varchar not null,
    table_name varchar not null,
    reason varchar not null,
    "rows" bigint
)
