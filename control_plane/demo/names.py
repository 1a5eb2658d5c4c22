"""Plausible, unique company names for demo tenants (deterministic for a given random source)."""

from __future__ import annotations

import random
import re

from control_plane.domain.slugs import validate_slug

_FIRST = ("Acme", "Blue", "Bright", "Cedar", "Clear", "Copper", "Coral", "Crisp", "Delta", "Ember", "Fern",
          "Flint", "Golden", "Granite", "Harbor", "Hazel", "Indigo", "Iron", "Juniper", "Keystone", "Lark",
          "Linden", "Lumen", "Maple", "Meadow", "Mint", "Nimbus", "North", "Oak", "Onyx", "Orbit", "Pine",
          "Polar", "Quartz", "Quill", "Rapid", "Red", "River", "Rocket", "Sage", "Silver", "Slate", "Solar",
          "Spruce", "Stone", "Summit", "Swift", "Teal", "Tidal", "True", "Umber", "Vector", "Velvet", "Violet",
          "West", "Willow", "Zen", "Zephyr", "Alpine", "Birch")
_SECOND = ("Analytics", "Apps", "Bakery", "Bank", "Bio", "Books", "Build", "Cargo", "Clinic", "Cloud", "Coffee",
           "Data", "Design", "Dental", "Energy", "Farms", "Fitness", "Foods", "Freight", "Games", "Health",
           "Homes", "Insights", "Labs", "Legal", "Logistics", "Media", "Metrics", "Motors", "Music", "Networks",
           "Optics", "Outdoors", "Pay", "Pets", "Print", "Realty", "Robotics", "Security", "Shop", "Software",
           "Salon", "Sports", "Studio", "Supply", "Systems", "Tech", "Travel", "Ventures", "Works")
_SUFFIX = ("Inc", "Ltd", "GmbH", "LLC", "Co", "Group", "AG", "SA", "BV", "Partners", "Oy", "AB")
FIRST_NAMES = ("Ada", "Ben", "Chloe", "Dan", "Eva", "Finn", "Grace", "Hugo", "Ines", "Jon", "Kai", "Lena",
               "Mia", "Noah", "Olga", "Paul", "Quinn", "Rosa", "Sam", "Tara", "Uma", "Vik", "Wen", "Yara", "Zoe")


def companies(rng: random.Random, count: int) -> list[str]:
    """`count` different names; at most len(_FIRST) * len(_SECOND) * len(_SUFFIX) (36,000)."""
    total = len(_FIRST) * len(_SECOND) * len(_SUFFIX)
    if count > total:
        raise ValueError(f"at most {total} demo names")
    out = []
    for index in rng.sample(range(total), count):
        first, rest = divmod(index, len(_SECOND) * len(_SUFFIX))
        second, suffix = divmod(rest, len(_SUFFIX))
        out.append(f"{_FIRST[first]} {_SECOND[second]} {_SUFFIX[suffix]}")
    return out


def slug_for(company: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", company.lower()).strip("_")[:40].rstrip("_")
    return validate_slug(slug)


def alternative_slug(slug: str) -> str:
    """A slug for a demo tenant whose first choice belongs to a real tenant."""
    return validate_slug(f"{slug[:35]}_demo")
