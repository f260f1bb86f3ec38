"""Probabilistic identity matching through the pipeline's build, on generated data with planted no-key
duplicates: quality against the truth, one guarded graph, explanations, bad input, incremental = full."""

from __future__ import annotations

import json

import pytest

from segwarehouse.warehouse.identity.settings import ONE_SIDE_ONLY
from tests.identity.conftest import pairwise

pytestmark = pytest.mark.slow


def test_first_build_trains_a_model_and_the_next_day_scores_only_the_delta(matched):
    first, last = matched["first"], matched["last"]
    assert first["mode"] == "full"
    assert first["trained"] == first["model_version"]
    assert last["mode"] == "incremental"
    assert last["trained"] is None
    assert last["model_version"] == first["model_version"]
    # the last day's new and changed contacts, not all of them
    assert 4 <= last["delta"] < 0.1 * last["eligible"]
    assert last["links"] > 50


def test_incremental_matching_equals_a_full_rebuild(matched):
    assert matched["full"]["mode"] == "full"
    incremental = {(a, b): p for a, b, p in matched["incremental_links"]}
    full = {(a, b): p for a, b, p in matched["full_links"]}
    assert len(incremental) == len(matched["incremental_links"])  # one row per pair
    assert set(incremental) == set(full)
    assert max(abs(incremental[k] - full[k]) for k in full) < 1e-9


def test_pairwise_precision_and_recall_with_no_key_duplicates(con):
    """Over every CRM contact except the duplicates the truth marks without evidence (nothing but names in
    common with their person: no birth date, a new or no address), as the deterministic test leaves out the
    duplicates without a usable e-mail or phone."""
    precision, recall, true_pairs = pairwise(con, "has_evidence")
    everyone = pairwise(con)
    print(f"contact -> person: precision {precision:.4f}, recall {recall:.4f} ({true_pairs} true pairs); "
          f"with the names-only duplicates: precision {everyone[0]:.4f}, recall {everyone[1]:.4f} ({everyone[2]})")
    no_key = con.execute("select count(*) from 'contacts.parquet' where kind = 'no_key_duplicate'").fetchone()[0]
    names_only = con.execute("select count(*) from 'contacts.parquet' where not has_evidence").fetchone()[0]
    assert no_key > 40
    assert names_only < 0.1 * no_key
    assert true_pairs > no_key
    assert precision >= 0.99
    assert recall >= 0.99
    assert everyone[0] >= 0.99


def test_email_and_phone_weights_are_estimated_on_the_pairs_that_share_no_key(matched):
    """The score only decides pairs that share no e-mail or phone (the others are linked deterministically). Among
    them a duplicate often left its e-mail or phone out (the generator: 30 % of the no-key duplicates give no
    e-mail, 50 % no phone), so 'given on one side only' weighs for a match and 'both given, different' mildly
    against; both m are estimated on those pairs (they sum to 1), not by EM over every pair of its blocks."""
    folder = matched["paths"].models / "identity" / matched["first"]["model_version"]
    model = json.loads((folder / "splink_model.json").read_text())
    m_one_side = {}
    for comparison in model["comparisons"]:
        if comparison["output_column_name"] not in ("email", "phone"):
            continue
        levels = {lvl["label_for_charts"]: lvl for lvl in comparison["comparison_levels"]}
        one_side, other = levels[ONE_SIDE_ONLY], levels["All other comparisons"]
        assert one_side["m_probability"] + other["m_probability"] == pytest.approx(1.0)
        assert one_side["m_probability"] > 2 * one_side["u_probability"]
        assert 0.4 * other["u_probability"] < other["m_probability"] < other["u_probability"]
        m_one_side[comparison["output_column_name"]] = one_side["m_probability"]
    print(m_one_side)
    assert 0.15 < m_one_side["email"] < m_one_side["phone"] < 0.75


def test_shared_key_duplicates_stay_linked_as_deterministic_links_find_them(con):
    """No shared-key duplicate is lost: every duplicate the deterministic links can attach is in its
    primary's person, and no link merges two true persons among them."""
    precision, recall, true_pairs = pairwise(con, """kind in ('primary', 'shared_key_duplicate') and customer_id in (
        select id_value from 'identifiers.parquet' where id_type = 'customer_id' and is_linkable)""")
    assert true_pairs > 50
    assert precision == 1.0
    assert recall == 1.0


def test_probabilistic_edges_join_the_guarded_graph_with_their_probability(con, matched):
    links = con.execute("select count(*) from identity.probabilistic_links").fetchone()[0]
    edges = con.execute("""select count(*), min(match_probability), count(*) filter (where match_probability is null)
                           from int_identity_edges_guarded where link_type = 'probabilistic'""").fetchone()
    assert edges[0] == links > 0
    assert edges[1] >= 0.9
    assert edges[2] == 0
    assert con.execute("select count(*) from int_identity_edges_guarded where link_type <> 'probabilistic' "
                       "and match_probability is not null").fetchone()[0] == 0
    assert con.execute("select links_probabilistic from identity_graph_health order by as_of_date desc limit 1"
                       ).fetchone()[0] == links
    # every linked pair is one person (unless the component guard split it)
    split = con.execute("""
        select count(*) from identity.probabilistic_links l
        join int_person_map a on a.node_key = 'customer_id:' || l.customer_id_l
        join int_person_map b on b.node_key = 'customer_id:' || l.customer_id_r
        where a.person_id <> b.person_id and not a.is_identity_flagged""").fetchone()[0]
    assert split == 0


def test_explanations_account_for_every_probabilistic_edge(con):
    n_comparisons = con.execute("select max(step) - 1 from identity.probabilistic_link_explanations").fetchone()[0]
    assert n_comparisons == 7  # first name, last name, birth date, location, gender, e-mail, phone
    missing, incomplete, off = con.execute("""
        with e as (
            select customer_id_l, customer_id_r, count(*) as n_rows,
                   sum(match_weight) filter (where comparison <> 'final') as summed,
                   any_value(match_weight) filter (where comparison = 'final') as final
            from identity.probabilistic_link_explanations group by all)
        select count(*) filter (where e.customer_id_l is null),
               count(*) filter (where e.n_rows <> 9),
               count(*) filter (where abs(e.summed - e.final) > 1e-6)
        from identity.probabilistic_links l left join e using (customer_id_l, customer_id_r)""").fetchone()
    assert missing == 0
    assert incomplete == 0
    assert off == 0  # the waterfall adds up: prior + each comparison's weight = the pair's match weight
    labels = {r[0] for r in con.execute("select distinct level_label from identity.probabilistic_link_explanations "
                                        "where comparison = 'birth_date'").fetchall()}
    assert "two digits transposed" in labels or "day and month swapped" in labels


def test_contacts_with_only_an_id_or_one_letter_names_never_link_probabilistically(con, matched):
    planted = matched["planted"]
    hostile = [planted["only_id"], planted["one_letter"]]
    placeholders = ", ".join(f"'{c}'" for c in hostile)
    assert con.execute(f"select count(*) from main.stg_crm__contacts where customer_id in ({placeholders})").fetchone()[0] == 2
    assert con.execute(f"select count(*) from identity.match_input where customer_id in ({placeholders})").fetchone()[0] == 0
    assert con.execute(f"""select count(*) from identity.match_scores
                           where customer_id_l in ({placeholders}) or customer_id_r in ({placeholders})""").fetchone()[0] == 0
    persons = con.execute(f"""select count(*) from int_person_map m join int_person_map o using (person_id)
                              where m.node_key in ('customer_id:{hostile[0]}', 'customer_id:{hostile[1]}')
                                and o.node_key like 'customer_id:%' and o.node_key <> m.node_key""").fetchone()[0]
    assert persons == 0
    # and among the generated contacts: every eligible contact has two names of >= 2 letters and evidence
    assert con.execute("""select count(*) from identity.match_input where length(first_name) < 2
                          or length(last_name) < 2 or coalesce(birth_date::varchar, address_line, postcode) is null"""
                       ).fetchone()[0] == 0


def test_a_contact_file_without_the_postal_columns_is_read_and_matched(con, matched):
    dup, original = matched["planted"]["same_as_a"]
    assert con.execute("""select count(*) from int_quarantine_rows where source_file like '%old_header.csv'
                          and reason like 'header mismatch%'""").fetchone()[0] == 0
    row = con.execute(f"select address_line, postcode from main.stg_crm__contacts where customer_id = '{dup}'").fetchone()
    assert row == (None, None)
    pair = tuple(sorted((dup, original)))
    assert con.execute("select match_probability from identity.probabilistic_links where customer_id_l = ? "
                       "and customer_id_r = ?", list(pair)).fetchone()[0] >= 0.9


def test_staging_normalizes_addresses_and_postcodes(con, matched):
    row = con.execute("select address_line, postcode from main.stg_crm__contacts where customer_id = ?",
                      [matched["planted"]["messy"]]).fetchone()
    assert row == ("12 baker street apt 4", "SW1A1AA")
    # the generator's abbreviations are gone after staging
    left = con.execute(r"""select count(*) from main.stg_crm__contacts
                           where regexp_matches(address_line, '\b(st|rd|ave|av|ln|dr|ct|pl)\b')""").fetchone()[0]
    assert left == 0


def test_namesakes_abroad_or_with_three_near_misses_are_vetoed(con, matched):
    """Contact b's namesakes score above the threshold (names, birth date) but a hard disagreement vetoes them:
    another country, or another city with a first-name typo and a transposed birth date at once."""
    b, abroad, near_misses = matched["planted"]["namesakes_of_b"]
    for other in (abroad, near_misses):
        pair = sorted((b, other))
        scored = con.execute("select match_probability from identity.match_scores where least(customer_id_l, "
                             "customer_id_r) = ? and greatest(customer_id_l, customer_id_r) = ?", pair).fetchall()
        assert scored, other
        assert scored[0][0] >= 0.9, (other, scored)
        assert con.execute("select count(*) from identity.probabilistic_links where customer_id_l = ? "
                           "and customer_id_r = ?", pair).fetchone()[0] == 0
        assert con.execute(f"""select count(*) from int_person_map m join int_person_map o using (person_id)
                               where m.node_key = 'customer_id:{b}' and o.node_key = 'customer_id:{other}'"""
                           ).fetchone()[0] == 0
    assert matched["last"]["vetoed_by_rule"] >= 2
