-- cohort.exclusions: one row per secondary cause found around a patient's index date.
create table cohort.exclusions as

with

exclusions as (

    select * from exclusions_frame

),

final as (

    select
        patient_id::varchar as patient_id,
        category::varchar as category,
        cause::varchar as cause,
        reason::varchar as reason,
        code::varchar as code,
        event_date::date as event_date,
        exposure_end_date::date as exposure_end_date,
        days_from_index::integer as days_from_index,
        source_file::varchar as source_file,
        source_row::bigint as source_row
    from exclusions

)

select * from final
order by patient_id, event_date, category, cause, source_file, source_row
