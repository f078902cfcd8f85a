-- Rows set aside as not relevant in the published run, per input table and reason.
with

ignored as (

    select * from audit.ignored

),

final as (

    select table_name, reason, rows
    from ignored
    where run_number = $run_number

)

select * from final
order by table_name, rows desc, reason
