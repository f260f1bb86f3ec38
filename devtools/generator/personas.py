"""Latent behaviour personas planted in the synthetic data, so that clustering has real structure."""

from __future__ import annotations

from dataclasses import dataclass

BROWSE_TYPES = ("page_view", "product_view", "search")
CHANNELS = ("direct", "organic", "paid_search", "social", "email", "referral")
TIERS = ("none", "bronze", "silver", "gold", "platinum")
INCOME = ("<25k", "25-50k", "50-100k", "100-200k", ">200k")


@dataclass(frozen=True)
class Persona:
    name: str
    share: float
    session_rate: float  # relative sessions per active day
    browse_events: float  # mean browsing events per session
    purchase_p: float  # probability a session ends in a purchase
    aov_eur: float  # typical order value
    session_minutes: float
    email_open_p: float  # per weekly campaign
    email_click_p: float  # given an open
    login_p: float  # registered visitor logs in during a session
    abandon_p: float  # non-buying session leaves a cart behind
    registered_p: float  # has a CRM contact at all
    in_window_signup_p: float  # signs up during the window (earlier visits are anonymous)
    browse_mix: tuple[float, float, float]
    channel_mix: tuple[float, float, float, float, float, float]
    age_range: tuple[int, int]
    tier_mix: tuple[float, float, float, float, float]
    income_mix: tuple[float, float, float, float, float]
    consent_p: float


PERSONAS: tuple[Persona, ...] = (
    Persona("loyal_high_value", 0.15, 1.0, 6, 0.30, 150.0, 9, 0.35, 0.40, 0.90, 0.10, 1.0, 0.05,
            (0.30, 0.60, 0.10), (0.40, 0.20, 0.05, 0.05, 0.25, 0.05), (35, 65),
            (0.05, 0.10, 0.25, 0.35, 0.25), (0.02, 0.08, 0.30, 0.40, 0.20), 0.90),
    Persona("bargain_hunter", 0.20, 0.8, 5, 0.30, 30.0, 5, 0.40, 0.50, 0.80, 0.25, 1.0, 0.15,
            (0.25, 0.45, 0.30), (0.15, 0.15, 0.30, 0.15, 0.20, 0.05), (20, 45),
            (0.20, 0.40, 0.30, 0.08, 0.02), (0.30, 0.40, 0.20, 0.08, 0.02), 0.85),
    Persona("browser", 0.30, 0.9, 10, 0.01, 60.0, 14, 0.08, 0.10, 0.25, 0.50, 0.5, 0.20,
            (0.35, 0.55, 0.10), (0.20, 0.35, 0.10, 0.25, 0.00, 0.10), (18, 40),
            (0.80, 0.15, 0.05, 0.00, 0.00), (0.30, 0.35, 0.25, 0.08, 0.02), 0.60),
    Persona("new_user", 0.10, 1.6, 6, 0.12, 70.0, 7, 0.30, 0.30, 0.70, 0.30, 1.0, 1.0,
            (0.40, 0.50, 0.10), (0.30, 0.25, 0.20, 0.20, 0.00, 0.05), (18, 35),
            (1.00, 0.00, 0.00, 0.00, 0.00), (0.30, 0.35, 0.25, 0.08, 0.02), 0.70),
    Persona("lapsed", 0.25, 0.6, 5, 0.15, 70.0, 5, 0.03, 0.10, 0.70, 0.20, 1.0, 0.0,
            (0.40, 0.50, 0.10), (0.35, 0.30, 0.10, 0.10, 0.10, 0.05), (25, 60),
            (0.40, 0.35, 0.20, 0.05, 0.00), (0.10, 0.30, 0.35, 0.20, 0.05), 0.70),
)
PERSONA_NAMES = tuple(p.name for p in PERSONAS)
NEW_USER_WINDOW_DAYS = 7  # new users sign up within the last week (seed: "registered within last 7 days")
