"""Countries with their currency, time zones, names and phone-number plans."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["COUNTRIES", "CURRENCIES", "EMAIL_DOMAINS", "FX_FROM_GBP", "Country", "PhonePlan"]

CURRENCIES = ("GBP", "EUR", "USD")
# Prices are set in GBP and converted with these fixed rates.
FX_FROM_GBP = {"GBP": 1.0, "EUR": 1.17, "USD": 1.27}
# Reserved example domains only, so no generated address can reach a real mailbox.
EMAIL_DOMAINS = (
    "example.com",
    "example.net",
    "example.org",
    "mail.example.com",
    "post.example.net",
    "inbox.example.org",
)


@dataclass(frozen=True)
class PhonePlan:
    """How to write a mobile number of a country.

    Each customer has seven unique free digits. With ten ``prefixes`` the first free digit picks
    the prefix (and its time zone, for countries that span several) and the other six follow it;
    otherwise a prefix is drawn at random and all seven follow. ``templates`` spell the national
    significant number, ``N`` standing for its next digit.
    """

    calling_code: str
    prefixes: tuple[tuple[str, str], ...]
    templates: tuple[str, ...]


@dataclass(frozen=True)
class Country:
    """A market the shop sells to."""

    code: str
    name: str
    share: float
    currency: str
    utc_offset: dict[str, int]
    phone: PhonePlan
    first_names_female: tuple[str, ...]
    first_names_male: tuple[str, ...]
    last_names: tuple[str, ...]
    aliases: tuple[str, ...]


_ENGLISH_F = ("Olivia", "Emma", "Amelia", "Isla", "Ava", "Mia", "Grace", "Sophie", "Lily", "Chloe",
              "Ella", "Emily", "Hannah", "Lucy", "Sarah", "Jessica", "Laura", "Rachel", "Megan")
_ENGLISH_M = ("Oliver", "George", "Harry", "Jack", "Noah", "Leo", "James", "Thomas", "William",
              "Daniel", "Samuel", "Joseph", "Benjamin", "Henry", "Michael", "David", "Adam")
_ENGLISH_L = ("Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies",
              "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green",
              "Hall", "Wood", "Jackson", "Clarke", "Miller", "Moore", "Anderson", "Harris")

COUNTRIES: tuple[Country, ...] = (
    Country(
        "GB", "United Kingdom", 0.30, "GBP", {"Europe/London": 0},
        PhonePlan("44", (("750", "Europe/London"), ("787", "Europe/London")),
                  ("+44NNNNNNNNNN", "+44 NNNN NNNNNN", "0NNNN NNNNNN", "0NNNNNNNNNN")),
        _ENGLISH_F, _ENGLISH_M, _ENGLISH_L, ("UK", "United Kingdom", "gb", "Great Britain"),
    ),
    Country(
        "US", "United States", 0.25, "USD",
        {"America/New_York": -5, "America/Chicago": -6, "America/Denver": -7,
         "America/Phoenix": -7, "America/Los_Angeles": -8},
        PhonePlan("1", (("2127", "America/New_York"), ("6177", "America/New_York"),
                        ("3057", "America/New_York"), ("4047", "America/New_York"),
                        ("3127", "America/Chicago"), ("7137", "America/Chicago"),
                        ("3037", "America/Denver"), ("6027", "America/Phoenix"),
                        ("4157", "America/Los_Angeles"), ("2067", "America/Los_Angeles")),
                  ("+1NNNNNNNNNN", "+1 NNN-NNN-NNNN", "(NNN) NNN-NNNN", "NNN-NNN-NNNN",
                   "NNN.NNN.NNNN")),
        ("Emily", "Madison", "Ashley", "Jennifer", "Olivia", "Abigail", "Megan", "Hannah",
         "Samantha", "Taylor", "Lauren", "Brittany", "Kayla", "Nicole"),
        ("Michael", "Christopher", "Matthew", "Joshua", "Andrew", "Tyler", "Ethan", "Jacob",
         "Ryan", "Brandon", "Justin", "Kevin", "Jason", "Austin"),
        ("Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
         "Rodriguez", "Martinez", "Hernandez", "Lopez", "Wilson", "Anderson", "Thomas",
         "Moore", "Martin", "Lee", "Thompson", "Clark"),
        ("USA", "United States", "us", "U.S."),
    ),
    Country(
        "DE", "Germany", 0.15, "EUR", {"Europe/Berlin": 1},
        PhonePlan("49", (("1512", "Europe/Berlin"), ("1522", "Europe/Berlin")),
                  ("+49NNNNNNNNNNN", "+49 NNNN NNNNNNN", "0NNNN NNNNNNN", "0NNNN/NNNNNNN")),
        ("Anna", "Lena", "Lea", "Hannah", "Laura", "Julia", "Sarah", "Lisa", "Katharina",
         "Sophie", "Marie", "Johanna", "Clara", "Paula"),
        ("Lukas", "Leon", "Jonas", "Felix", "Paul", "Maximilian", "Tim", "Jan", "Niklas",
         "Finn", "Moritz", "Tobias", "Florian", "Sebastian"),
        ("Mueller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
         "Schulz", "Hoffmann", "Koch", "Richter", "Klein", "Wolf", "Neumann", "Schwarz"),
        ("Germany", "Deutschland", "de", "GER"),
    ),
    Country(
        "FR", "France", 0.12, "EUR", {"Europe/Paris": 1},
        PhonePlan("33", (("61", "Europe/Paris"), ("65", "Europe/Paris")),
                  ("+33NNNNNNNNN", "+33 N NN NN NN NN", "0N NN NN NN NN", "0NNNNNNNNN")),
        ("Camille", "Manon", "Chloe", "Lea", "Ines", "Julie", "Louise", "Emma", "Sarah",
         "Pauline", "Claire", "Margaux", "Lucie"),
        ("Lucas", "Hugo", "Louis", "Nathan", "Gabriel", "Jules", "Arthur", "Thomas", "Antoine",
         "Maxime", "Nicolas", "Julien", "Mathis"),
        ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand",
         "Leroy", "Moreau", "Simon", "Laurent", "Lefebvre", "Michel", "Garnier", "Fournier"),
        ("France", "fr", "FRA", "Republique francaise"),
    ),
    Country(
        "ES", "Spain", 0.06, "EUR", {"Europe/Madrid": 1},
        PhonePlan("34", (("61", "Europe/Madrid"), ("63", "Europe/Madrid")),
                  ("+34NNNNNNNNN", "+34 NNN NNN NNN", "NNN NNN NNN", "NNNNNNNNN")),
        ("Lucia", "Maria", "Paula", "Sofia", "Carmen", "Laura", "Marta", "Elena", "Alba",
         "Ana", "Sara", "Irene"),
        ("Hugo", "Pablo", "Alejandro", "Daniel", "Javier", "Carlos", "Diego", "Sergio",
         "Adrian", "Mario", "Alvaro", "Manuel"),
        ("Garcia", "Fernandez", "Gonzalez", "Rodriguez", "Lopez", "Martinez", "Sanchez",
         "Perez", "Gomez", "Martin", "Jimenez", "Ruiz", "Diaz", "Moreno"),
        ("Spain", "es", "Espana", "ESP"),
    ),
    Country(
        "IT", "Italy", 0.05, "EUR", {"Europe/Rome": 1},
        PhonePlan("39", (("347", "Europe/Rome"), ("333", "Europe/Rome")),
                  ("+39NNNNNNNNNN", "+39 NNN NNN NNNN", "NNN NNNNNNN", "NNN-NNN-NNNN")),
        ("Giulia", "Sofia", "Aurora", "Alice", "Martina", "Chiara", "Francesca", "Sara",
         "Elena", "Valentina", "Federica"),
        ("Leonardo", "Francesco", "Alessandro", "Lorenzo", "Matteo", "Andrea", "Marco",
         "Luca", "Giuseppe", "Davide", "Simone"),
        ("Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci",
         "Marino", "Greco", "Bruno", "Gallo", "Conti", "Costa"),
        ("Italy", "it", "Italia", "ITA"),
    ),
    Country(
        "NL", "Netherlands", 0.04, "EUR", {"Europe/Amsterdam": 1},
        PhonePlan("31", (("61", "Europe/Amsterdam"), ("62", "Europe/Amsterdam")),
                  ("+31NNNNNNNNN", "+31 N NNNNNNNN", "0N-NNNNNNNN", "0N NNNN NNNN")),
        ("Emma", "Julia", "Sophie", "Lotte", "Sanne", "Anouk", "Fleur", "Eva", "Lisa", "Iris",
         "Femke"),
        ("Daan", "Sem", "Lucas", "Bram", "Thijs", "Jesse", "Ruben", "Lars", "Stijn", "Milan",
         "Joris"),
        ("de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Janssen",
         "Visser", "Smit", "Meijer", "de Boer", "Mulder", "Bos", "Vos"),
        ("Netherlands", "nl", "Holland", "The Netherlands"),
    ),
    Country(
        "IE", "Ireland", 0.03, "EUR", {"Europe/Dublin": 0},
        PhonePlan("353", (("87", "Europe/Dublin"), ("85", "Europe/Dublin")),
                  ("+353NNNNNNNNN", "+353 NN NNN NNNN", "0NN NNN NNNN", "0NNNNNNNNN")),
        ("Aoife", "Ciara", "Niamh", "Saoirse", "Grainne", "Siobhan", "Emma", "Sarah", "Kate",
         "Roisin", "Aisling"),
        ("Sean", "Conor", "Cian", "Oisin", "Darragh", "Liam", "Patrick", "Eoin", "Niall",
         "Ciaran", "Fionn"),
        ("Murphy", "Kelly", "O'Sullivan", "Walsh", "Smith", "O'Brien", "Byrne", "Ryan",
         "O'Connor", "O'Neill", "Reilly", "Doyle", "McCarthy", "Gallagher"),
        ("Ireland", "ie", "Eire", "Republic of Ireland"),
    ),
)
