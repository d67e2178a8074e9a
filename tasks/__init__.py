"""ParlAI teachers of cringe-agent, one folder per data family.

The teachers of ``safety``, ``contradiction`` and ``feedback`` yield one flattened example per judged utterance, in
one of two label conventions chosen by
``--cringe-label-mode`` (``-t ...:cringe_label_mode=classifier`` in a task string):

- ``generator`` (default): ``text`` is the dialogue context (earlier turns joined by ``\\n``, or ``__SILENCE__`` when
  there is none), ``labels`` is ``[the judged utterance]`` and ``classifier_label`` is ``pos``/``neg``. This is what
  the CRINGE agent trains on.
- ``classifier``: ``text`` is the judged utterance (``--cringe-classifier-input reply``, the default) or the context
  and the utterance (``context_reply``), ``labels`` is ``[pos]`` or ``[neg]``: the input of
  ``transformer/classifier --classes pos neg``.

``--cringe-keep pos|neg`` keeps the examples of one polarity only (the pos-only and neg-only streams of a classifier
recipe). Filtering in the teacher rather than with the ``cringe_pos_only``/``cringe_neg_only`` mutators keeps ParlAI's
epoch accounting right: when a mutator drops the last episode of a fold, a looping ``train`` stream never reports
the end of its epoch, and ParlAI's dictionary building (``train:ordered``) never ends.

Folders:

- ``safety/``, ``contradiction/``, ``feedback/``: the judged-utterance teachers above (``agents.py``), each with a
  ``build.py`` that makes sure its data is on disk.
- ``generations/``: a teacher over generations files, the selected generations of earlier rounds.
- ``chitchat/``: chit-chat next-utterance teachers over the ``chitchat-dataset`` package, with classifier labels
  (and the contexts the iterative loop generates from).
- ``persona/``: an embedded persona world (generated, nothing downloaded) whose replies contradict the speaker's
  stated facts or not, an exact checker of that (``tasks.persona.checker:judge``), and a learned labeller's training.
- ``common/``: what the folders share: the label options and teacher mixin (:mod:`tasks.common.labels`), clear
  errors for missing data (:mod:`tasks.common.data`), and strict readers that name the file, line and field of
  malformed data and count the records skipped for lack of a usable label (:mod:`tasks.common.readers`).

The public names of ``common/`` are re-exported here, so ``from tasks import X`` keeps working.
"""

from tasks.common.data import DataNotFoundError, require_data
from tasks.common.labels import (
    CLASSIFIER_INPUTS,
    EMPTY_CONTEXT,
    KEEP,
    LABEL_MODES,
    SOURCE_FIELD,
    LabelledTeacherMixin,
    add_label_args,
    keeps,
    make_example,
    teacher_id,
)
from tasks.common.readers import (
    DataFormatError,
    UnusableLabels,
    load_json,
    read_jsonl,
    read_parlai_text,
    require_field,
)

__all__ = [
    "CLASSIFIER_INPUTS",
    "EMPTY_CONTEXT",
    "KEEP",
    "LABEL_MODES",
    "SOURCE_FIELD",
    "DataFormatError",
    "DataNotFoundError",
    "LabelledTeacherMixin",
    "UnusableLabels",
    "add_label_args",
    "keeps",
    "load_json",
    "make_example",
    "read_jsonl",
    "read_parlai_text",
    "require_data",
    "require_field",
    "teacher_id",
]
