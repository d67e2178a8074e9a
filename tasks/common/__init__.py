"""What the teacher folders of :mod:`tasks` share, one job per module.

- :mod:`tasks.common.labels`: the label options (``--cringe-label-mode``, ``--cringe-classifier-input``,
  ``--cringe-keep``), the teacher mixin that adds them, and :func:`~tasks.common.labels.make_example`, which builds one
  example in either label convention.
- :mod:`tasks.common.data`: making sure a dataset is on disk (ParlAI's download), else one clear error.
- :mod:`tasks.common.readers`: strict readers of JSON, JSON-lines and ParlAI text files that name the file, line and
  field of malformed data, and the count of records skipped for lack of a usable label.
"""
