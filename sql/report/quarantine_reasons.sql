-- Quarantined rows of the published run per input table and reason (never the rows).
with

quarantine as (

    select * from audit.quarantine

),

final as (

    select table_name, reason, count(*) as rows
    from quarantine
    group by all

)

select * from final
order by table_name, rows desc, reason
