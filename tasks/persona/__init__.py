"""Persona contradiction: a generated persona world (nothing downloaded) with an exact contradiction checker.

- :mod:`tasks.persona.lexicon`: attributes, values and the words that name them.
- :mod:`tasks.persona.templates`: the phrasings (persona lines, statements, negations, questions, answers).
- :mod:`tasks.persona.world`: the seeded generator of speakers, dialogues and labelled replies, split by speaker.
- :mod:`tasks.persona.checker`: ``contradicts(context, reply)``, exact, and ``judge`` (spec
  ``tasks.persona.checker:judge``).
- :mod:`tasks.persona.agents`: the ParlAI teachers (``-t tasks.persona.agents``) and the loop's ``context_source``.
- :mod:`tasks.persona.classifier`: training and measuring the learned labeller (``parlai+context:PATH``).

See ``README.md`` here and ``projects/persona_contradiction/README.md``.
"""
