"""The phrasing templates of the persona world: statements, negations, questions and answers per attribute.

Placeholders: ``{v}`` the value as written in text (``Paris``, ``dog``, ``nurse``), ``{a}`` the value with its
article (``a dog``, ``an engineer``), ``{n}`` a count in words, ``{m}`` that count plus one; a capitalised
placeholder (``{V}``, ``{A}``) starts the sentence. Every statement is a claim of the checker's grammar
(:mod:`tasks.persona.checker`); the tests check the generator's labels against the checker on every example.
"""

from __future__ import annotations

#: The world's fixed persona phrasing of each attribute (``your persona:`` lines).
PERSONA = {
    "city": "I live in {v}.",
    "pet": "I have {a}.",
    "pet:none": "I don't have any pets.",
    "job": "I work as {a}.",
    "siblings": "I have {n} siblings.",
    "siblings:1": "I have one sibling.",
    "siblings:0": "I am an only child.",
    "food": "My favourite food is {v}.",
    "hobby": "My hobby is {v}.",
}

#: attribute -> statements asserting a value (``eq`` claims). ``pet:none`` and ``siblings:0`` state "none".
STATEMENTS: dict[str, tuple[str, ...]] = {
    "city": (
        "I live in {v}.",
        "I'm based in {v}.",
        "Home for me is {v}.",
        "I've lived in {v} for years now.",
        "My home is in {v}.",
        "I call {v} home.",
        "Right now I live in {v}.",
        "{V} is where I live.",
    ),
    "pet": (
        "I have {a}.",
        "I've got {a}.",
        "I own {a}.",
        "My {v} is my best friend.",
        "My {v} keeps me busy.",
        "I have {a} at home.",
        "My pet is {a}.",
        "I adopted {a} last year.",
    ),
    "pet:none": (
        "I don't have any pets.",
        "I have no pets.",
        "I've never had a pet.",
        "I don't own any animals.",
        "I do not have a pet.",
    ),
    "job": (
        "I work as {a}.",
        "I'm {a}.",
        "My job is being {a}.",
        "I've been {a} for ten years.",
        "I am {a} by profession.",
        "I work full-time as {a}.",
        "I make a living as {a}.",
    ),
    "siblings": (
        "I have {n} siblings.",
        "I have {n} brothers and sisters.",
        "I'm one of {m} kids.",
        "I grew up with {n} siblings.",
        "I've got to say, I have {n} siblings.",
    ),
    "siblings:1": (
        "I have one sibling.",
        "I have a single sibling.",
        "I'm one of two kids.",
        "I grew up with one sibling.",
        "I have a sibling.",
    ),
    "siblings:0": (
        "I'm an only child.",
        "I don't have any siblings.",
        "I have no brothers or sisters.",
        "I was an only child.",
        "I grew up as an only child.",
        "I never had any siblings.",
    ),
    "food": (
        "My favourite food is {v}.",
        "{V} is my favourite food.",
        "I could eat {v} every day.",
        "Nothing beats a good {v}.",
        "My go-to meal is {v}.",
        "I love {v} more than anything.",
        "{V} is definitely my favourite.",
    ),
    "hobby": (
        "My hobby is {v}.",
        "My favourite hobby is {v}.",
        "{V} is my main hobby.",
        "I spend most of my free time on {v}.",
        "My biggest pastime is {v}.",
        "{V} is my only real hobby.",
    ),
}

#: attribute -> negations of a value (``ne`` claims; for siblings, ``ge`` claims that deny "only child").
NEGATIONS: dict[str, tuple[str, ...]] = {
    "city": (
        "I don't live in {v}.",
        "I've never lived in {v}.",
        "Actually, I don't live in {v}.",
        "I no longer live in {v}.",
        "I would never live in {v}.",
    ),
    "pet": (
        "I don't have {a}.",
        "I've never owned {a}.",
        "I do not own {a}.",
        "I never had {a}.",
        "I no longer have {a}.",
    ),
    "job": (
        "I'm not {a}.",
        "I am definitely not {a}.",
        "I don't work as {a}.",
        "I have never been {a}.",
        "I am no longer {a}.",
        "My job is not {a}.",
    ),
    "siblings:0": (
        "My sister lives nearby.",
        "I'm not an only child.",
        "My brother is visiting me this week.",
        "My older sister just called me.",
        "My little brother loves video games.",
    ),
    "food": (
        "I don't like {v}.",
        "I can't stand {v}.",
        "I hate {v}.",
        "I never eat {v}.",
        "{V} is not my favourite.",
        "My favourite food is not {v}.",
    ),
    "hobby": (
        "I don't like {v}.",
        "I hate {v}.",
        "I've never tried {v}.",
        "I'm not into {v}.",
        "{V} is not my thing.",
        "My hobby is not {v}.",
    ),
}

#: Mentions consistent with having siblings: ``siblings:1`` for one or more, ``siblings:2`` for two or more.
SIBLING_MENTIONS = {
    "siblings:1": ("My sister lives nearby.", "My brother is visiting me this week.", "My older sister just called."),
    "siblings:2": ("My brothers are coming over later.", "My sisters and I went hiking.", "My siblings are great."),
}

#: attribute -> the partner's questions.
QUESTIONS: dict[str, tuple[str, ...]] = {
    "city": (
        "Where do you live?",
        "Where are you based?",
        "Which city do you live in?",
        "So where is home for you?",
        "Where do you call home?",
        "What city are you in these days?",
    ),
    "pet": (
        "Do you have any pets?",
        "Do you have a pet?",
        "Any pets at home?",
        "What kind of pet do you have?",
        "Do you own any pets?",
    ),
    "job": (
        "What do you do for a living?",
        "What is your job?",
        "What do you do for work?",
        "What kind of work do you do?",
        "What's your profession?",
        "What is your line of work?",
    ),
    "siblings": (
        "Do you have any siblings?",
        "Do you have brothers or sisters?",
        "How many siblings do you have?",
        "Are you an only child?",
        "How big is your family?",
    ),
    "food": (
        "What is your favourite food?",
        "What's your favourite dish?",
        "What do you like to eat?",
        "What kind of food do you like?",
        "What is your go-to meal?",
    ),
    "hobby": (
        "What do you do for fun?",
        "What is your favourite hobby?",
        "Do you have any hobbies?",
        "What do you do in your free time?",
        "How do you spend your spare time?",
    ),
}

#: attribute -> bare answers (a value at the start of the reply, after fillers only).
ANSWERS: dict[str, tuple[str, ...]] = {
    "city": ("{V}.", "{V}, born and raised.", "Oh, {v}.", "{V}, and I love it there.", "Currently {v}."),
    "pet": ("{A}.", "Yes, {a}.", "Just one, {a}.", "Oh, {a}!", "{A}, actually."),
    "job": ("{A}.", "I'd say {a}.", "Oh, {a}.", "{A}, for ten years now.", "Currently {a}."),
    "siblings": ("{N}.", "Just {n}.", "{N}, actually.", "Oh, {n}.", "Well, {n}."),
    "siblings:0": ("None.", "Zero.", "None, actually.", "Oh, none.", "Zero, I'm afraid."),
    "food": ("{V}.", "{V}, always.", "Oh, {v}.", "Definitely {v}.", "{V}, I think."),
    "hobby": ("{V}.", "Mostly {v}.", "Oh, {v}.", "{V}, every weekend.", "I'd say {v}."),
}

#: attribute -> "not X but Y" replies: deny another value ``{x}``/``{ax}``, assert the true one (consistent).
CORRECTIONS: dict[str, tuple[str, ...]] = {
    "city": ("I don't live in {x}, I live in {v}.", "Not {x}! I live in {v}."),
    "pet": ("I don't have {ax}, I have {a}.", "I've never owned {ax}. My pet is {a}."),
    "pet:none": ("I don't have {ax}. I don't have any pets at all.", "I never had {ax}, I have no pets."),
    "job": ("I'm not {ax}, I'm {a}.", "I don't work as {ax}. I work as {a}."),
    "food": ("I don't like {x}, but {v} is my favourite food.", "I hate {x}. My favourite food is {v}."),
    "hobby": ("I'm not into {x}; my hobby is {v}.", "I've never tried {x}. My favourite hobby is {v}."),
}

#: Replies that claim nothing about the speaker.
NEUTRAL = (
    "That sounds like fun!",
    "Haha, I know what you mean.",
    "Not much, just relaxing today.",
    "I'm doing well, thanks for asking.",
    "I love sunny days like this.",
    "I was just about to make some tea.",
    "That's a good question.",
    "I watched a great movie last night.",
    "I'm planning a trip next month.",
    "Music always cheers me up.",
    "I slept really well last night.",
    "That's interesting, tell me more.",
    "I have a busy week ahead.",
    "Weekends are always too short.",
    "I'm trying to learn a new language.",
    "I just got back from a long walk.",
    "Same here!",
    "I can't complain.",
    "Oh really? That's cool.",
    "I'm not sure, to be honest.",
    "I'd love to hear more about that.",
    "It has been a long day.",
)

#: Replies that dodge a question.
DEFLECTIONS = ("I'd rather not say.", "Why do you ask?", "Let's talk about something else.", "Hard to say!")

#: Mentions of values that are not the speaker's (third persons, wishes, the past): never claims.
OTHERS: dict[str, tuple[str, ...]] = {
    "city": ("My friend lives in {v}.", "I'd love to visit {v} someday.", "I used to dream about {v}."),
    "pet": ("My neighbour has {a}.", "My cousin wants {a}.", "I'd love to get {a} one day, maybe."),
    "job": ("My cousin works as {a}.", "My best friend is {a}.", "My dad wanted me to become {a}."),
    "food": ("My friend's favourite food is {v}.", "I've heard {v} is great there.", "I'd like to try making {v}."),
    "hobby": ("My coworker's hobby is {v}.", "I want to learn {v} one day.", "My friend is really into {v}."),
}

#: The partner's opening lines (a dialogue of three lines starts with one).
OPENERS = (
    "Hi! How are you today?",
    "Hello there, nice to meet you.",
    "Hey, how's it going?",
    "Good evening! How was your day?",
    "Hi, I'm new here. How are you?",
)

#: The speaker's answers to an opener, before an optional statement.
GREETINGS = ("I'm good, thanks!", "Nice to meet you too.", "Pretty good.", "Hello!", "Not bad at all.")

#: The partner's lines that ask nothing about the speaker's persona.
CHAT = (
    "That sounds nice.",
    "I had such a long day today.",
    "The weather is lovely today, isn't it?",
    "Haha, that's funny.",
    "I'm reading a great book right now.",
    "Did you watch the game last night?",
    "I'm so tired this week.",
    "Tell me more about yourself!",
    "What are you up to this weekend?",
    "I just made some coffee.",
)

#: Openings before a contradicting or consistent statement, and endings after it.
PREFIXES = ("", "", "", "Haha. ", "Oh, ", "Well, ", "Honestly, ", "Nice. ")
SUFFIXES = ("", "", "", " What about you?", " How about you?", " And you?")
#: Openings allowed before a bare answer (the checker's fillers).
ANSWER_PREFIXES = ("", "", "Oh, ", "Well, ", "Hmm, ")

#: Leading questions (``--persona-style leading``): the partner presupposes another value ``{x}`` / ``{ax}`` of a
#: stated attribute (siblings: ``{k}``, another number). Agreeing with the premise contradicts the persona.
LEADING: dict[str, tuple[str, ...]] = {
    "city": ("You live in {x}, right?", "So you're from {x}, aren't you?", "Do you still live in {x}?"),
    "pet": ("You have {ax}, don't you?", "How is your {x} doing?", "Tell me about your {x}!"),
    "job": ("You're {ax}, right?", "Do you like being {ax}?", "So you work as {ax}?"),
    "food": ("Your favourite food is {x}, right?", "I heard you love {x} more than anything. True?"),
    "hobby": ("Your hobby is {x}, isn't it?", "Do you still do {x} every weekend?"),
    "siblings": ("You have {k} siblings, right?", "What are your {k} siblings like?"),
}
