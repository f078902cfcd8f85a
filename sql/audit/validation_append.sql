-- audit.validation: append this run's checks.
insert into audit.validation by name

with

checks as (

    select * from validation_frame

),

final as (

    select
        $run_number::integer as run_number,
        $run_id::varchar as run_id,
        stage::varchar as stage,
        name::varchar as check_name,
        "column"::varchar as column_name,
        level::varchar as level,
        success::boolean as success,
        unexpected::bigint as unexpected_rows,
        engine::varchar as engine
    from checks

)

select * from final
order by stage, check_name, column_name
