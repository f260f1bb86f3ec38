{#- The identifier -> person mapping of the latest run (a view on int_person_map for BI and exports). -#}
{{ config(materialized='view') }}
select node_key, id_type, person_id, is_identity_flagged, cast('{{ as_of_date() }}' as date) as as_of_date
from {{ ref('int_person_map') }}
