"""Crowdsourcing human evaluation (``cringe-eval``): model chat with per-turn annotations and ACUTE-style pairwise
evaluation, in a Flask app over SQLAlchemy, with ParlAI-format exports and an analysis.

Modules: :mod:`.db` (tables and migrations), :mod:`.presets` (questions and annotation buckets), :mod:`.responder`
(model replies with a timeout), :mod:`.pairings` (ACUTE pairings from logs), :mod:`.app` (the app factory),
:mod:`.worker` and :mod:`.admin` (routes), :mod:`.export`, :mod:`.analyze` and :mod:`.cli`.
"""
