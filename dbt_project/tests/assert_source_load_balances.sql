-- Nothing is lost between landing and staging: every line is good, rejected, or a duplicate/superseded version;
-- no more files hold lines than the ledger accepted for the run (a header-only CSV holds none).
select *
from {{ ref('int_source_load_audit') }}
where lines_in <> rejected + duplicates_or_superseded + good_rows
   or duplicates_or_superseded < 0
   or files_with_lines > files_accepted
