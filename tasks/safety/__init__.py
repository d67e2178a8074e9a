"""Safety teachers: BAD, dialogue_safety (standard, adversarial, multi-turn) and WikiToxic; see agents.py."""
