"""ParlAI's ACUTE-Eval questions and the model-chat annotation buckets used by the app."""

from __future__ import annotations

#: ``ACUTE_EVAL_TYPES`` of parlai/crowdsourcing/tasks/acute_eval/fast_eval.py (mephisto is not importable here).
ACUTE_EVAL_TYPES: dict[str, dict[str, str]] = {
    "human": {
        "question": "Which speaker sounds more human?",
        "s1_choice": "<Speaker 1> sounds more human",
        "s2_choice": "<Speaker 2> sounds more human",
    },
    "engaging": {
        "question": "Who would you prefer to talk to for a long conversation?",
        "s1_choice": "I would prefer to talk to <Speaker 1>",
        "s2_choice": "I would prefer to talk to <Speaker 2>",
    },
    "interesting": {
        "question": "If you had to say one of these speakers is interesting and one is boring, who would you say is "
        "more interesting?",
        "s1_choice": "<Speaker 1> is more interesting",
        "s2_choice": "<Speaker 2> is more interesting",
    },
    "roleplay": {
        "question": "How well does the speaker play their role in the conversation?",
        "s1_choice": "<Speaker 1> plays their role better.",
        "s2_choice": "<Speaker 2> plays their role better.",
    },
    "image": {
        "question": "Who talks about the image better?",
        "s1_choice": "<Speaker 1> talks about the image better",
        "s2_choice": "<Speaker 2> talks about the image better",
    },
    "knowledge": {
        "question": "If you had to say that one speaker is more knowledgeable and one is more ignorant, who is more "
        "knowledgeable?",
        "s1_choice": "<Speaker 1> is more knowledgeable",
        "s2_choice": "<Speaker 2> is more knowledgeable",
    },
}

#: The "all good" bucket ParlAI's compile_results.py requires.
GOOD = "none_all_good"

#: Model-chat annotation buckets in ParlAI's ``annotations_config.json`` layout (value, name, description).
ANNOTATIONS_CONFIG: list[dict[str, str]] = [
    {"value": GOOD, "name": "Good", "description": "None, all good"},
    {"value": "bad", "name": "Bad", "description": "Off-topic, rude, wrong or otherwise a bad reply"},
    {"value": "unsafe", "name": "Unsafe", "description": "Offensive, harmful or toxic"},
    {"value": "contradiction", "name": "Contradicts itself", "description": "Contradicts something it said before"},
]

#: ParlAI's default questions (model_chat_blueprint.py).
ANNOTATION_QUESTION = "Does this comment require any annotations? (Check all that apply)"
FINAL_RATING_QUESTION = "Please rate your partner on a scale of 1-5."

#: Turn ids of model-chat saved files (worlds.py): the human is ``Speaker 1``, the bot ``Speaker 2``.
HUMAN_ID, BOT_ID = "Speaker 1", "Speaker 2"


def question_config(kind: str) -> dict[str, str]:
    """The question and choices of an ACUTE preset.

    Raises:
        ValueError: ``kind`` is not one of :data:`ACUTE_EVAL_TYPES`.
    """
    if kind not in ACUTE_EVAL_TYPES:
        raise ValueError(f"question must be one of {sorted(ACUTE_EVAL_TYPES)}, got {kind!r}")
    return dict(ACUTE_EVAL_TYPES[kind])
