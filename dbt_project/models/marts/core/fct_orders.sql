{#- One row per shop order (latest version) in the reporting currency with the buyer's person: a view of
    int_orders_attributed, which the per-person order features read (intermediate models never read marts). -#}
{#- On Spark a table: its readers (and the engine-parity test) read stored parquet, and a cluster has the room. -#}
{{ config(materialized='table' if target.type == 'spark' else 'view') }}

select * from {{ ref('int_orders_attributed') }}
