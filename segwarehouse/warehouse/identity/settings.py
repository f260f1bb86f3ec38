"""The Splink model: comparisons, blocking rules, and the rule that vetoes a high score."""

from __future__ import annotations

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import SettingsCreator, block_on

# the matching input's columns (segwarehouse.warehouse.identity.match_input)
MODEL_COLUMNS = ("customer_id", "first_name", "last_name", "birth_date", "dob_key", "gender", "city",
                 "address_line", "postcode", "email", "phone")
ONE_SIDE_ONLY = "given on one side only"  # the e-mail and phone level that identity.key_evidence estimates


def _name(col: str, other: str) -> cl.CustomComparison:
    """First or last name: swapped with the other, exact (term-frequency adjusted), Jaro-Winkler bands."""
    return cl.CustomComparison(
        comparison_levels=[
            cll.NullLevel(col),
            # swapped names are too rare among random pairs for random sampling to see (u ~ 1e-8), and EM would
            # then drive m to 0: u is fixed, not estimated
            cll.ColumnsReversedLevel(col, other, symmetrical=True).configure(
                label_for_charts="first/last swapped", u_probability=1e-7, fix_u_probability=True),
            cll.ExactMatchLevel(col).configure(tf_adjustment_column=col),
            cll.JaroWinklerLevel(col, 0.92),
            cll.DamerauLevenshteinLevel(col, 1),  # short names: 'ben'/'bne' is far in Jaro-Winkler
            cll.JaroWinklerLevel(col, 0.80),
            cll.CustomLevel(f"damerau_levenshtein({col}_l, {other}_r) <= 1 "
                            f"and damerau_levenshtein({other}_l, {col}_r) <= 1", "swapped, with a typo").configure(
                u_probability=1e-7, fix_u_probability=True),
            cll.ElseLevel(),
        ],
        output_column_name=col,
    )


def _birth_date() -> cl.CustomComparison:
    s = "strftime({c}, '%Y%m%d')"
    left, right = s.format(c="birth_date_l"), s.format(c="birth_date_r")
    return cl.CustomComparison(
        comparison_levels=[
            cll.NullLevel("birth_date"),
            cll.ExactMatchLevel("birth_date"),
            # a transposition keeps the multiset of digits (dob_key): far rarer among random pairs than any
            # one-character edit, so it earns a larger weight
            cll.CustomLevel(f"dob_key_l = dob_key_r and damerau_levenshtein({left}, {right}) <= 1",
                            "two digits transposed"),
            cll.CustomLevel("year(birth_date_l) = year(birth_date_r) and day(birth_date_l) = month(birth_date_r) "
                            "and month(birth_date_l) = day(birth_date_r)", "day and month swapped"),
            cll.CustomLevel(f"levenshtein({left}, {right}) <= 1", "one digit mistyped"),
            cll.ElseLevel(),
        ],
        output_column_name="birth_date",
    )


def _location() -> cl.CustomComparison:
    """Address line, postcode and city as one comparison: they are strongly correlated (same address => same
    postcode => same city), so three comparisons would count the same evidence three times."""
    return cl.CustomComparison(
        comparison_levels=[
            cll.CustomLevel("coalesce(address_line_l, postcode_l, city_l) is null "
                            "or coalesce(address_line_r, postcode_r, city_r) is null").configure(is_null_level=True),
            # a postcode missing on one side does not count against the same address line
            cll.CustomLevel("address_line_l = address_line_r "
                            "and (postcode_l = postcode_r or postcode_l is null or postcode_r is null)",
                            "same address line and postcode").configure(
                tf_adjustment_column="address_line", disable_tf_exact_match_detection=True),
            cll.CustomLevel("jaro_winkler_similarity(address_line_l, address_line_r) >= 0.9 "
                            "and (postcode_l = postcode_r or postcode_l is null or postcode_r is null)",
                            "similar address line, same postcode"),
            cll.CustomLevel("postcode_l = postcode_r", "same postcode"),
            cll.CustomLevel("city_l = city_r", "same city").configure(
                tf_adjustment_column="city", disable_tf_exact_match_detection=True),
            cll.ElseLevel(),
        ],
        output_column_name="location",
    )


def _key(col: str) -> cl.CustomComparison:
    """E-mail or phone: missing on both sides is no evidence; given on one side only is a level of its own (a
    second sign-up without a shared key often leaves the key out)."""
    return cl.CustomComparison(
        comparison_levels=[
            cll.CustomLevel(f"{col}_l is null and {col}_r is null").configure(is_null_level=True),
            cll.ExactMatchLevel(col),
            cll.CustomLevel(f"{col}_l is null or {col}_r is null", ONE_SIDE_ONLY),
            cll.ElseLevel(),
        ],
        output_column_name=col,
    )


# candidate pairs: each key's cardinality grows with the population, so blocks stay small as contacts grow
# (first name and the birth date's digits alone would grow quadratically: the common first names)
BLOCKING_RULES = [
    block_on("first_name", "last_name", "year(birth_date)"),  # a mistyped day/month digit, and moved
    # first-name typo, moved (dob_key: equal under any transposition; the first name's initial keeps the blocks of
    # common surnames from growing with the square of the population)
    block_on("last_name", "dob_key", "substr(first_name, 1, 1)"),
    block_on("first_name", "dob_key", "substr(last_name, 1, 1)"),  # last-name typo (its first letter kept)
    "l.first_name = r.last_name and l.dob_key = r.dob_key",  # swapped (+ a typo in one name)
    "l.last_name = r.first_name and l.dob_key = r.dob_key",
    block_on("postcode", "address_line"),  # same address: typos in both names, or no birth date
    block_on("city", "address_line"),  # the same, when a postcode is missing
]

# expectation maximisation sessions: each estimates the comparisons its blocking rule does not fix; a session
# whose estimates break down (an m probability driven to 0 on few pairs) is tried with the next rule of its list
# (column tuples: a rule whose columns give no pair of contacts, e.g. birth dates never delivered, is skipped)
EM_BLOCKING = [
    [("first_name", "last_name")],  # birth date, location, gender, e-mail, phone
    [("birth_date", "city"), ("birth_date",), ("postcode",)],  # the names, gender, e-mail, phone
    # first name, location, gender, e-mail, phone again: the first session's block is full of namesakes that
    # share nothing else, among which EM underrates how often one person's two records differ in location
    [("last_name", "birth_date"), ("first_name", "birth_date")],
]
# pairs that are almost surely one person, for the first estimate of the prior (the share of pairs that match),
# EM's starting point; the model's prior is then derived from the EM sessions (each session's share of matches
# among its pairs, corrected by the weight of what its blocking rule fixed), not from an assumed recall
PRIOR_BLOCKING = [("first_name", "last_name", "birth_date"), ("first_name", "last_name", "postcode", "address_line")]

# Hard disagreements that veto a link whatever its score (Fellegi-Sunter assumes independent comparisons, so
# twins - same surname, birth date and address - and junior/senior namesakes at one address score high):
# first names that do not agree at all (not even swapped or fuzzy), birth dates both present and neither
# equal, transposed, day-month swapped nor one digit mistyped, or genders both present and different.
# Two more keep namesakes apart: countries both present and different (a namesake abroad with the same birth
# date; country_l/_r come from the matching input, not from the model, so every model version honours it), and
# three near misses at once - no location in common, a birth date only transposed or one digit off, and names
# not both exactly equal (swapped names count as not equal): each level alone is common among one person's
# records, but the comparisons are scored as independent and their sum overrates the combination, which is
# what a namesake looks like.
VETO_SQL = ("gamma_first_name = 0 or gamma_birth_date = 0 or gamma_gender = 0"
            " or coalesce(country_l <> country_r, false)"
            " or (gamma_location = 0 and gamma_birth_date between 1 and 3"
            " and not (gamma_first_name = 5 and gamma_last_name = 5))")


def settings() -> SettingsCreator:
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="customer_id",
        comparisons=[
            _name("first_name", "last_name"),
            _name("last_name", "first_name"),
            _birth_date(),
            _location(),
            cl.ExactMatch("gender"),
            # e-mail and phone: exact, or given on one side only; no term-frequency tables (a model version's files
            # hold no identifier an erasure looks for); no fuzzy e-mail levels: addresses are built from the names
            # (correlated). Their m is estimated on the pairs that share no key (identity.key_evidence)
            _key("email"),
            _key("phone"),
        ],
        blocking_rules_to_generate_predictions=BLOCKING_RULES,
        retain_matching_columns=True,
        retain_intermediate_calculation_columns=True,
        max_iterations=20,
    )
