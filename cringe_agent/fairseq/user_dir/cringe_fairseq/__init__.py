"""fairseq user dir: ``--user-dir .../cringe_agent/fairseq/user_dir/cringe_fairseq`` registers the criterion
``cringe`` and the task ``cringe_translation`` (fairseq imports this folder as the top-level module
``cringe_fairseq``)."""

import cringe_agent.fairseq  # noqa: F401  (registers them on import)
