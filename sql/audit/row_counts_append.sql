-- audit.row_counts: append this run's counts.
insert into audit.row_counts by name

with

row_counts as (

    select * from row_counts_frame

),

final as (

    select
        $run_number::integer as run_number,
        $run_id::varchar as run_id,
        table_name::varchar as table_name,
        read::bigint as read,
        used::bigint as used,
        quarantined::bigint as quarantined,
        ignored::bigint as ignored
    from row_counts

)

select * from final
order by table_name
