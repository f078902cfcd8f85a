-- audit.ignored: append this run's ignored-row counts.
insert into audit.ignored by name

with

ignored as (

    select * from ignored_frame

),

final as (

    select
        $run_number::integer as run_number,
        $run_id::varchar as run_id,
        table_name::varchar as table_name,
        reason::varchar as reason,
        "rows"::bigint as "rows"
    from ignored

)

select * from final
order by table_name, reason
