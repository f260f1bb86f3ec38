"""Small vocabularies for synthetic people (unicode, apostrophes and commas included on purpose)."""

FIRST_NAMES = (
    "Anna", "Ben", "Chloé", "David", "Emma", "Felix", "Grace", "Hugo", "Ines", "Jonas", "Karin", "Liam",
    "Maria", "Noah", "Olivia", "Paul", "Quentin", "Rosa", "Søren", "Tom", "Ursula", "Victor", "Wei",
    "Xavier", "Yuki", "Zoë", "Łukasz", "José", "Aisha", "Mateo", "Freya", "Kenji", "Lena", "Omar", "Nina",
    "Erik", "Sofia", "Hannah", "Luca", "Mia",
)
LAST_NAMES = (
    "Müller", "Smith", "Dubois", "Johansson", "García", "Rossi", "de Vries", "Tanaka", "O'Brien",
    "Schmidt", "Jones", "Martin", "Nilsson", "López", "Bianchi", "Jansen", "Sato", "Brown", "Weber",
    "Taylor", "Bernard", "Larsson", "Fernández", "Romano", "Bakker", "Suzuki", "Wilson", "Wagner",
    "Evans", "Petit", "Berg", "Ruiz", "Greco", "Visser", "Kato", "Novak", "Kowalski", "Horváth",
    "Smith, Jr.", "Ng",
)
DOMAINS = ("example.com", "example.org", "example.net", "mail.example")
PLACEHOLDER_EMAILS = ("test@test.com", "noemail@example.com", "none@none.com", "na@na.com")
CATEGORIES = ("fashion", "outdoor", "tech", "home", "beauty", "sports", "books", "travel", "food", "kids")
CITIES = {
    "DE": ("Berlin", "Hamburg", "München", "Köln"), "US": ("New York", "Chicago", "Austin", "Seattle"),
    "GB": ("London", "Manchester", "Leeds", "Bristol"), "FR": ("Paris", "Lyon", "Marseille", "Lille"),
    "SE": ("Stockholm", "Göteborg", "Malmö", "Uppsala"), "NL": ("Amsterdam", "Rotterdam", "Utrecht", "Den Haag"),
    "ES": ("Madrid", "Barcelona", "Valencia", "Sevilla"), "JP": ("Tokyo", "Osaka", "Kyoto", "Sapporo"),
}
CALLING_CODES = {"DE": "49", "US": "1", "GB": "44", "FR": "33", "SE": "46", "NL": "31", "ES": "34", "JP": "81"}

# Widened name vocabularies for probabilistic identity matching: with 40 x 40 names, two strangers share first
# name, last name and birth year far too often for names to be evidence. The head is the names above; the tail
# is built from syllables, and persons draw names from a Zipf law over it (a few common names, a long tail).
_SYLLABLES = ("ka", "lo", "mi", "ren", "sa", "tor", "vi", "ben", "dal", "er", "fin", "gar", "hal", "is", "jon",
              "kel", "lin", "mar", "nor", "ol", "per", "ros", "sten", "ul", "var", "wen", "yan", "zel", "bra",
              "cor", "dri", "el", "fa", "gun", "ha", "ix", "jo", "ki", "lu", "mo", "na", "or", "pi", "qui", "ru",
              "se", "ti", "u", "ve", "wi")
_LAST_SUFFIXES = ("", "", "", "son", "sen", "berg", "ez", "ini", "ova", "ski", "man", "er", "ton", "ley")
N_FIRST_NAMES = 4_000
N_LAST_NAMES = 100_000
STREET_NAMES = tuple(f"{a.capitalize()}{b}" for a in _SYLLABLES[:40] for b in ("wood", "field", "brook", "hill",
                                                                                  "gate", "mill", "stone", "park"))
# (full street type, how people abbreviate it): staging expands the abbreviations (docs/sources.md)
STREET_TYPES = (("Street", ("St", "St.", "street", "STREET")), ("Road", ("Rd", "Rd.", "road")),
                ("Avenue", ("Ave", "Av.", "avenue")), ("Lane", ("Ln", "lane")), ("Drive", ("Dr", "Dr.")),
                ("Court", ("Ct", "court")), ("Place", ("Pl", "place")))


def _vocabulary(n: int, head: tuple[str, ...], last: bool) -> tuple[str, ...]:
    import numpy as np

    rng = np.random.default_rng(1234 if last else 4321)  # fixed: the vocabulary is part of the generator
    seen, out = {s.lower() for s in head}, list(head)
    while len(out) < n:
        m = 2 * (n - len(out))  # a batch of candidates: most are new
        syl = rng.integers(0, len(_SYLLABLES), (m, 3))
        k = rng.integers(2, 4, m)
        suffix = rng.integers(0, len(_LAST_SUFFIXES), m)
        for j in range(m):
            s = "".join(_SYLLABLES[i] for i in syl[j, :k[j]]) + (_LAST_SUFFIXES[suffix[j]] if last else "")
            if len(s) >= 3 and s not in seen:
                seen.add(s)
                out.append(s.capitalize())
                if len(out) == n:
                    break
    return tuple(out)


_CACHE: dict[str, tuple[str, ...]] = {}


def first_names() -> tuple[str, ...]:
    """FIRST_NAMES then synthetic ones, N_FIRST_NAMES in all (same for every seed)."""
    if "first" not in _CACHE:
        _CACHE["first"] = _vocabulary(N_FIRST_NAMES, FIRST_NAMES, last=False)
    return _CACHE["first"]


def last_names() -> tuple[str, ...]:
    """LAST_NAMES then synthetic ones, N_LAST_NAMES in all (same for every seed)."""
    if "last" not in _CACHE:
        _CACHE["last"] = _vocabulary(N_LAST_NAMES, LAST_NAMES, last=True)
    return _CACHE["last"]


def ascii_name(name: str) -> str:
    """The name as it appears in an e-mail address."""
    table = str.maketrans({"é": "e", "ø": "o", "ë": "e", "ł": "l", "Ł": "L", "ü": "u", "á": "a", "í": "i",
                           "ó": "o", "ö": "o", "'": "", " ": "", ",": "", ".": ""})
    return name.translate(table).lower()


def name_arrays():
    """(first display, last display, first ascii, last ascii) as numpy object arrays indexed like the vocabularies."""
    import numpy as np

    if "arrays" not in _CACHE:
        f, la = first_names(), last_names()
        _CACHE["arrays"] = (np.array(f, dtype=object), np.array(la, dtype=object),
                            np.array([ascii_name(x) for x in f], dtype=object),
                            np.array([ascii_name(x) for x in la], dtype=object))
    return _CACHE["arrays"]
