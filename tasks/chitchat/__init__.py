"""Chit-chat next-utterance data (the ``chitchat-dataset`` package) labelled by a classifier; see ``agents.py``."""
