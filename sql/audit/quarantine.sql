-- audit.quarantine: every input row of this run that failed validation, with its reason.
create table audit.quarantine as

with

quarantine as (

    select * from quarantine_frame

),

final as (

    select
        $run_id::varchar as run_id,
        table_name::varchar as table_name,
        source_file::varchar as source_file,
        source_row::bigint as source_row,
        patient_id::varchar as patient_id,
        reason::varchar as reason
    from quarantine

)

select * from final
order by table_name, source_file, source_row
