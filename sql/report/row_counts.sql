-- Rows per input table of the published run: read = used + quarantined + ignored.
with

row_counts as (

    select * from audit.row_counts

),

final as (

    select table_name, read, used, quarantined, ignored
    from row_counts
    where run_number = $run_number

)

select * from final
order by table_name
