{#- The identifier -> person mapping as of this run (read by the next run's person_id_history). -#}
-- built after person_id_history, which compares against the previous run's mapping:
-- depends_on: {{ ref('person_id_history') }}
select node_key, id_type, person_id, is_identity_flagged, cast('{{ as_of_date() }}' as date) as as_of_date
from {{ ref('int_person_map') }}
