-- audit.validation: every validation check of each published run, with its outcome (no values).
create table audit.validation (
    run_number integer not null,
    run_id varchar not null,
    stage varchar not null,
    check_name varchar not null,
    column_name varchar,
    level varchar not null,
    success boolean not null,
    unexpected_rows bigint,
    engine varchar not null
)
