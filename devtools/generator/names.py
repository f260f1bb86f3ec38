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
