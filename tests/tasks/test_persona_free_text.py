"""The exact persona checker on free text (replies of pretrained chat models): moves and origins, negations, job
adjectives, second pets, possessives, echoed questions, bare yes/no; and the right-answer judge ``answers``."""

from __future__ import annotations

import pytest

from cringe_agent.classifiers import build_classifier
from tasks.persona import checker
from tasks.persona.checker import affirms, contradicts

PERSONA = "your persona: I live in Rome. I have a dog. I work as a nurse. I have two siblings. My hobby is chess."
NO_PETS = "your persona: I don't have any pets. I am an only child. I live in Denver."


def ctx(partner: str = "Hi! How are you?", persona: str = PERSONA) -> str:
    return f"{persona}\n{partner}"


#: (context, reply, contradicts, affirms)
CASES = [
    # -- moves: a move to X says where the speaker lives now; away from X, that it is not X
    (ctx(), "I moved to Paris last year.", True, False),
    (ctx(), "I just moved to Rome and I love it.", False, True),
    (ctx(), "I recently relocated to Berlin for work.", True, False),
    (ctx(), "I moved away from Rome a while ago.", True, False),
    (ctx(), "I moved here from Paris.", False, False),
    (ctx(), "I moved to Paris when I was a kid.", False, False),  # a childhood move says nothing of today
    (ctx(), "I'm moving to Paris next month!", False, False),  # a plan, not a claim
    (ctx(), "My family and I moved to Lisbon in 2019.", True, False),
    # -- origins: the world has no origin attribute, so an origin never contradicts (nor affirms) the city
    (ctx(), "I'm from Paris.", False, False),
    (ctx(), "I'm originally from Paris, but I live in Rome now.", False, True),
    (ctx(), "I grew up in Paris.", False, False),
    (ctx(), "I was born and raised in Paris.", False, False),
    (ctx("Where do you live?"), "I'm from Paris.", False, False),
    (ctx(), "I grew up in Paris and still live there.", True, False),
    (ctx(), "I grew up in Paris and now live in Rome.", False, True),
    # -- negations of a stated value contradict; of another value they do not
    (ctx(), "I have no dog.", True, False),
    (ctx(), "I have no cat.", False, False),
    (ctx(), "I don't even have a dog.", True, False),
    (ctx(), "I haven't got a dog or a cat.", True, False),
    (ctx(), "I'm not a nurse, I'm a teacher.", True, False),
    (ctx(), "I'm really not a nurse.", True, False),
    (ctx(), "I'm not just a nurse, I'm also a mom.", False, False),  # "not just" denies nothing
    (ctx(), "I'm no doctor, I'm a nurse.", False, True),
    (ctx(), "I've never been to Rome.", True, False),
    (ctx(), "I've never been to Paris, I live in Rome.", False, True),
    (ctx(), "I actually don't live in Rome anymore.", True, False),
    (ctx("Do you live in Rome?"), "Definitely not Rome.", True, False),
    (ctx("Where do you live?"), "Definitely not Paris, I'm a Rome person.", False, False),
    (ctx("What do you do for a living?"), "No, not a doctor. A nurse.", False, False),
    (ctx(persona=NO_PETS), "I don't have a cat.", False, False),
    # -- adjectives before a job: a closed list of job adjectives; skills, pasts and wishes are not jobs
    (ctx(), "I'm a retired doctor.", True, False),
    (ctx(), "I'm a busy nurse, always on my feet.", False, True),
    (ctx(), "I'm a full-time teacher.", True, False),
    (ctx(), "I am a very busy high school teacher.", False, False),  # "very" is not a job adjective
    (ctx(), "I'm a busy high school teacher.", True, False),
    (ctx(), "I'm a terrible cook, haha.", False, False),  # a skill, not the job "chef"
    (ctx(), "I'm an aspiring pilot.", False, False),
    (ctx("What do you do for a living?"), "A retired pilot.", True, False),
    # -- a second pet contradicts (one pet per speaker); the same pet does not
    (ctx(), "I have a dog and a cat.", True, False),
    (ctx(), "I have two dogs and a hamster.", True, False),
    (ctx(), "I also have a parrot.", True, False),
    (ctx(), "My dog and my cat get along great.", True, False),
    (ctx(), "I have a dog named Max and a cat named Luna.", True, False),
    (ctx(), "I have a dog and a job I love.", False, True),
    (ctx(persona=NO_PETS), "I have a cat and a dog.", True, False),
    # -- possessives and compounds are not the speaker's job or pet
    (ctx(), "I'm a doctor's assistant.", False, False),
    (ctx(), "I'm not a nurse's aide, I'm a nurse.", False, True),
    (ctx(), "I work as a teacher's aide.", False, False),
    (ctx(), "I have a cat allergy.", False, False),
    (ctx(), "I'm a cat person, but I have a dog.", False, True),
    (ctx(), "My dog's name is Max.", False, True),
    # -- echoed (corrected) questions are not claims
    (ctx("Do you live in Paris?"), "Do I live in Paris? No, I live in Rome.", False, True),
    (ctx("You live in Paris, right?"), "Paris? No, Rome.", False, True),
    (ctx("Where do you live? Paris?"), "Paris? No, Rome.", False, True),
    (ctx("How is your cat?"), "My cat? I don't have a cat, I have a dog.", False, True),
    (ctx("You're a doctor, right?"), "A doctor? Haha, no. I'm a nurse.", False, True),
    (ctx("Do you live in Paris?"), "do i live in paris no i live in rome", False, True),  # no punctuation
    (ctx("You live in Paris, right?"), "You think I live in Paris? No way.", False, False),
    (ctx("Where do you live?"), "Where do I live? Rome!", False, True),
    (ctx(), "I live in Paris, what about you?", True, False),  # a claim before a question stands
    (ctx(), "I have a cat, do you have pets?", True, False),
    (ctx(), "Did you know I live in Paris?", True, False),
    # -- bare yes/no to a leading or yes/no question
    (ctx("You live in Paris, right?"), "Yes! It's lovely.", True, False),
    (ctx("You live in Paris, right?"), "No, I don't.", False, False),
    (ctx("You live in Rome, right?"), "No.", True, False),
    (ctx("You live in Rome, right?"), "Yep!", False, True),
    (ctx("You live in Paris, right?"), "Sure.", False, False),  # "sure" opens any chat reply: not a yes
    (ctx("Do you have any pets?", NO_PETS), "Yes, I do!", True, False),
    (ctx("Do you have any pets?", NO_PETS), "Nope.", False, True),
    (ctx("Are you an only child?", NO_PETS), "No, I'm not.", True, False),
    (ctx("Do you have any pets?"), "No pets, sadly.", True, False),
    (ctx("Any pets at home?"), "Not really.", True, False),
    (ctx("How is your cat doing?"), "No idea what you mean, haha.", False, False),  # "no" opening a phrase
    (ctx("What kind of pet do you have?"), "No dog, that's for sure.", True, False),
    # -- the template phrasing is read as before
    (ctx(), "I live in Rome.", False, True),
    (ctx("Where do you live?"), "Rome, born and raised.", False, True),
    (ctx("Where do you live?"), "Paris.", True, False),
    (ctx(), "My friend lives in Paris.", False, False),
]


@pytest.mark.parametrize(("context", "reply", "contradiction", "right"), CASES)
def test_free_text_reply(context: str, reply: str, contradiction: bool, right: bool) -> None:
    assert contradicts(context, reply) is contradiction, checker.reply_claims(context, reply)
    assert affirms(context, reply) is right, checker.reply_claims(context, reply)


def test_the_table_covers_both_directions() -> None:
    assert len(CASES) >= 30
    assert {(c, a) for _, _, c, a in CASES} >= {(True, False), (False, True), (False, False)}


def test_claims_of_a_corrected_question() -> None:
    context = ctx("You live in Paris, right?")
    assert checker.proposals("You live in Paris, right?")[0].value == "paris"
    claims = checker.reply_claims(context, "Paris? No, Rome.")
    assert [(c.attribute, c.op, c.value) for c in claims] == [("city", "eq", "rome")]
    claims = checker.reply_claims(context, "No, Paris is too expensive for me.")
    assert [(c.attribute, c.op, c.value) for c in claims] == [("city", "ne", "paris")]


def test_read_marks_breaks_and_asked_words() -> None:
    reading = checker.read("Do I live in Paris? No, I live in Rome, how about you?")
    assert reading.norm == "do i live in paris no i live in rome how about you"
    asked = [w for w, a in zip(reading.words, reading.asked, strict=True) if a]
    assert asked == ["do", "i", "live", "in", "paris", "how", "about", "you"]
    assert reading.breaks == {5, 6, 10}


REPLIES = ["I live in Rome.", "Rome? No, Paris.", "I like it here.", "I live in Rome and I have a cat.", "Rome."]
EXPECTED = [1.0, 0.0, 0.0, 0.0, 1.0]


def test_answers_is_the_right_answer_rate() -> None:
    contexts = [ctx("Where do you live?")] * len(REPLIES)
    assert checker.answers(REPLIES, contexts=contexts) == EXPECTED
    assert checker.answers(REPLIES, contexts=contexts, golds=REPLIES, unused=1) == EXPECTED
    with pytest.raises(ValueError, match="tasks.persona.checker:answers needs the context"):
        checker.answers(REPLIES)
    with pytest.raises(ValueError, match="5 replies but 1 contexts"):
        checker.answers(REPLIES, contexts=contexts[:1])


def test_answers_loads_as_a_classifier_spec() -> None:
    answers = build_classifier("tasks.persona.checker:answers")
    contexts = [ctx("Where do you live?")] * len(REPLIES)
    assert answers(REPLIES, contexts=contexts) == EXPECTED
    assert answers(REPLIES, contexts=contexts, golds=REPLIES) == EXPECTED
    flagged = sum(p > 0.5 for p in answers(REPLIES, contexts=contexts))
    assert flagged == sum(affirms(c, r) for c, r in zip(contexts, REPLIES, strict=True)) == 2
    judge = build_classifier("tasks.persona.checker:judge")
    assert judge(REPLIES, contexts=contexts) == [0.0, 1.0, 0.0, 1.0, 0.0]
