-- audit.deliveries: every delivery the landing zone has shown, one row per folder and content,
-- with its outcome (from the deliveries ledger beside the database; deliveries_frame).
create table audit.deliveries as

with

deliveries as (

    select * from deliveries_frame

),

final as (

    select
        folder::varchar as folder,
        content_hash::varchar as content_hash,
        first_seen::timestamp as first_seen,
        outcome::varchar as outcome,
        reason::varchar as reason,
        run_id::varchar as run_id,
        recorded_at::timestamp as recorded_at
    from deliveries

)

select * from final
order by first_seen, folder
