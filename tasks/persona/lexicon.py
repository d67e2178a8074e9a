"""The persona world's vocabulary: attributes, their values and the surface forms that name each value.

The generator (:mod:`tasks.persona.world`) draws values from here and the checker (:mod:`tasks.persona.checker`)
reads them back with the same tables, so that both agree on what names what. Surface forms are lower-case token
sequences as the checker's normalisation leaves them (``favourite`` -> ``favorite``, ``guinea pig``).
"""

from __future__ import annotations

ATTRIBUTES = ("pet", "city", "job", "siblings", "food", "hobby")

#: The pet value of a speaker without pets.
NO_PET = "none"

#: pet -> surface forms (singular and plural); a speaker has one pet or none.
PETS: dict[str, tuple[str, ...]] = {
    "dog": ("dog", "dogs", "puppy", "puppies"),
    "cat": ("cat", "cats", "kitten", "kittens"),
    "parrot": ("parrot", "parrots"),
    "hamster": ("hamster", "hamsters"),
    "rabbit": ("rabbit", "rabbits", "bunny", "bunnies"),
    "goldfish": ("goldfish",),
    "turtle": ("turtle", "turtles"),
    "snake": ("snake", "snakes"),
    "horse": ("horse", "horses", "pony", "ponies"),
    "lizard": ("lizard", "lizards"),
    "ferret": ("ferret", "ferrets"),
    "guinea pig": ("guinea pig", "guinea pigs"),
    "hedgehog": ("hedgehog", "hedgehogs"),
    "iguana": ("iguana", "iguanas"),
}

CITIES: tuple[str, ...] = (
    "paris", "rome", "london", "berlin", "madrid", "tokyo", "sydney", "toronto", "chicago", "boston",
    "seattle", "denver", "dublin", "lisbon", "vienna", "prague", "oslo", "stockholm", "athens", "cairo",
    "mumbai", "seoul", "lima", "miami", "warsaw", "amsterdam", "montreal", "new york", "los angeles", "hong kong",
)  # fmt: skip

#: job -> surface forms.
JOBS: dict[str, tuple[str, ...]] = {
    "teacher": ("teacher",),
    "nurse": ("nurse",),
    "doctor": ("doctor",),
    "lawyer": ("lawyer", "attorney"),
    "chef": ("chef", "cook"),
    "pilot": ("pilot",),
    "farmer": ("farmer",),
    "engineer": ("engineer",),
    "accountant": ("accountant",),
    "dentist": ("dentist",),
    "plumber": ("plumber",),
    "electrician": ("electrician",),
    "firefighter": ("firefighter", "fireman"),
    "librarian": ("librarian",),
    "mechanic": ("mechanic",),
    "architect": ("architect",),
    "journalist": ("journalist", "reporter"),
    "photographer": ("photographer",),
    "baker": ("baker",),
    "carpenter": ("carpenter",),
    "musician": ("musician",),
    "programmer": ("programmer", "software developer"),
    "cashier": ("cashier",),
    "waiter": ("waiter", "waitress"),
    "pharmacist": ("pharmacist",),
    "veterinarian": ("veterinarian", "vet"),
    "scientist": ("scientist",),
    "translator": ("translator",),
    "police officer": ("police officer", "cop"),
    "bus driver": ("bus driver",),
}

#: food -> surface forms.
FOODS: dict[str, tuple[str, ...]] = {
    "pizza": ("pizza",),
    "sushi": ("sushi",),
    "pasta": ("pasta", "spaghetti"),
    "tacos": ("tacos", "taco"),
    "curry": ("curry",),
    "burgers": ("burgers", "burger", "hamburger", "hamburgers"),
    "steak": ("steak",),
    "ramen": ("ramen",),
    "lasagna": ("lasagna", "lasagne"),
    "dumplings": ("dumplings", "dumpling"),
    "pancakes": ("pancakes", "pancake"),
    "paella": ("paella",),
    "falafel": ("falafel",),
    "fried chicken": ("fried chicken",),
    "ice cream": ("ice cream",),
    "fish and chips": ("fish and chips",),
    "salad": ("salad", "salads"),
    "chocolate": ("chocolate",),
    "soup": ("soup",),
    "burritos": ("burritos", "burrito"),
}

#: hobby -> surface forms.
HOBBIES: dict[str, tuple[str, ...]] = {
    "hiking": ("hiking",),
    "painting": ("painting",),
    "chess": ("chess",),
    "gardening": ("gardening",),
    "fishing": ("fishing",),
    "knitting": ("knitting",),
    "surfing": ("surfing",),
    "cycling": ("cycling",),
    "photography": ("photography",),
    "cooking": ("cooking",),
    "running": ("running", "jogging"),
    "swimming": ("swimming",),
    "reading": ("reading",),
    "dancing": ("dancing",),
    "yoga": ("yoga",),
    "climbing": ("climbing", "rock climbing"),
    "skiing": ("skiing",),
    "baking": ("baking",),
    "camping": ("camping",),
    "pottery": ("pottery",),
}

#: siblings: number words and digits the checker reads as a count.
NUMBERS: dict[str, int] = {
    "zero": 0, "no": 0, "none": 0, "a": 1, "an": 1, "one": 1, "a single": 1, "single": 1, "two": 2, "three": 3,
    "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    **{str(i): i for i in range(11)},
}  # fmt: skip
NUMBER_WORDS = ("no", "one", "two", "three", "four", "five")
MAX_SIBLINGS = 4


def values(attribute: str) -> tuple:
    """Every value of an attribute (pets without :data:`NO_PET`; siblings as ints 0..:data:`MAX_SIBLINGS`)."""
    table: dict[str, tuple] = {
        "pet": tuple(PETS),
        "city": CITIES,
        "job": tuple(JOBS),
        "siblings": tuple(range(MAX_SIBLINGS + 1)),
        "food": tuple(FOODS),
        "hobby": tuple(HOBBIES),
    }
    if attribute not in table:
        raise ValueError(f"unknown persona attribute {attribute!r}; expected one of {ATTRIBUTES}")
    return table[attribute]


def surface_forms(attribute: str) -> dict[str, str]:
    """Surface form -> value, for the attributes named by words (all but ``siblings``)."""
    tables: dict[str, dict[str, tuple[str, ...]]] = {
        "pet": PETS,
        "city": {c: (c,) for c in CITIES},
        "job": JOBS,
        "food": FOODS,
        "hobby": HOBBIES,
    }
    if attribute not in tables:
        raise ValueError(f"attribute {attribute!r} has no word forms; expected one of {tuple(tables)}")
    return {form: value for value, forms in tables[attribute].items() for form in forms}


def article(noun: str) -> str:
    """``a`` or ``an`` before ``noun``."""
    return "an" if noun[:1] in "aeiou" else "a"
