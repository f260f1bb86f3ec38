-- Nothing is lost between landing and staging: every line is good, rejected, or a duplicate/superseded version.
select *
from {{ ref('int_source_load_audit') }}
where lines_in <> rejected + duplicates_or_superseded + good_rows
   or duplicates_or_superseded < 0
