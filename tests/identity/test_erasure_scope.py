"""Erasure and probabilistic links: a probabilistic link is evidence, not proof, so an erasure request takes
the subject's identifiers that deterministic links tie to it, never the other contact's (whose lines would
otherwise be deleted for a link that may be false)."""

from __future__ import annotations

import pytest

from segwarehouse.privacy.matching import Subject, plan_lines, resolve


def _linked_pair(con) -> tuple[str, str, str]:
    """Two customer ids joined only by a probabilistic link, each with its own e-mail, and their person."""
    return con.execute("""
        with emails as (
            select node_a as node, node_b as email from int_identity_edges_guarded where link_type = 'crm_email'
        )
        select split_part(p.node_a, ':', 2), split_part(p.node_b, ':', 2), m.person_id
        from int_identity_edges_guarded p
        join int_person_map m on m.node_key = p.node_a
        join emails ea on ea.node = p.node_a
        join emails eb on eb.node = p.node_b
        where p.link_type = 'probabilistic' and ea.email <> eb.email
          and (select count(*) from int_identity_edges_guarded q join int_person_map n on n.node_key = q.node_a
               where q.link_type = 'probabilistic' and n.person_id = m.person_id) = 1
        order by 1, 2 limit 1""").fetchone()


@pytest.mark.parametrize("side", ["anchor side", "other side"])
def test_erasing_one_side_of_a_probabilistic_link_leaves_the_other_contact_alone(con, side):
    a, b, person = _linked_pair(con)
    if side == "other side":
        a, b = b, a
    assert con.execute("select count(distinct person_id) from int_person_map where node_key in (?, ?)",
                       [f"customer_id:{a}", f"customer_id:{b}"]).fetchone()[0] == 1
    subject = resolve(con, Subject("customer_id", a))
    kinds = {t for t, _ in subject.identifiers}
    assert ("customer_id", a) in subject.identifiers
    assert "email" in kinds
    assert ("customer_id", b) not in subject.identifiers
    b_email = con.execute("select node_b from int_identity_edges_guarded where node_a = ? and link_type = 'crm_email'",
                          [f"customer_id:{b}"]).fetchone()[0].split(":", 1)[1]
    assert ("email", b_email) not in subject.identifiers
    # the merged person's id is erased only when the subject's identifiers hold its anchor (smallest customer id)
    anchor = con.execute("select min(id_value) from int_person_map where person_id = ? and id_type = 'customer_id'",
                         [person]).fetchone()[0]
    assert anchor in (a, b)
    assert subject.person_ids == ([person] if ("customer_id", anchor) in subject.identifiers else [])

    planned = plan_lines(con, subject)
    other_lines = con.execute("select source_file, line_no from base_crm__contact_lines where customer_id = ?",
                              [b]).fetchall()
    assert other_lines
    assert not [(f, n) for f, n in other_lines if n in planned.get(f, [])]
    own_lines = con.execute("select source_file, line_no from base_crm__contact_lines where customer_id = ?",
                            [a]).fetchall()
    assert own_lines
    assert all(n in planned[f] for f, n in own_lines)
