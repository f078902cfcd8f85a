-- audit.runs: one row per publication and per refused run carried over from the run journal,
-- kept across runs.
create table audit.runs (
    run_number integer not null primary key,
    run_id varchar,
    started_at timestamp,
    finished_at timestamp,
    duration_seconds double,
    outcome varchar,
    source_format varchar,
    extract_dir varchar,
    inputs struct("table" varchar, path varchar, sha256 varchar, bytes bigint)[],
    row_counts struct(
        table_name varchar, read bigint, used bigint, quarantined bigint, ignored bigint
    )[],
    rules_version varchar,
    rules_sha256 varchar,
    mapping_sha256 varchar,
    code_version varchar,
    timings struct(step varchar, "seconds" double)[],
    n_patients bigint,
    status_counts struct(status varchar, patients bigint)[],
    attempt_id varchar,
    exit_code integer,
    reason varchar,
    criteria struct(
        min_age_years bigint,
        complete_below_mg_dl double,
        panel_window_days bigint,
        repeat_low_min_days bigint,
        exposure_days_without_end bigint,
        implausible_above_mg_dl double,
        windows struct(
            cause varchar, category varchar, days_before_index bigint, days_after_index bigint
        )[],
        reference_intervals struct(
            analyte varchar,
            age_from_months bigint,
            age_to_months bigint,
            lower_mg_dl decimal(38, 6),
            upper_mg_dl decimal(38, 6)
        )[]
    )
)
