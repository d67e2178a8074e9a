"""``CringeBartAgent``: ParlAI's ``bart`` agent (BART, Lewis et al. 2020) trained with the CRINGE loss.

Fine-tuning the pretrained BART large (its weights and GPT-2 dictionary download on first use)::

    parlai train_model -m cringe_agent.agents.bart:CringeBartAgent -t TASK \\
        --init-model zoo:bart/bart_large/model --cringe-alpha 1.0 --cringe-k 5 --model-file /tmp/bart_cringe

ParlAI's ``BartAgent`` downloads ``zoo:bart/bart_large`` and starts from it whenever neither ``--init-model`` nor
``--model-file`` names an existing file, even for a model meant to start from scratch. ``--bart-zoo-init false``
turns that off here: the model then starts from random weights and nothing is downloaded (for tests and small
experiments; the dictionary must then need no download either, e.g. ``--dict-tokenizer bytelevelbpe`` with
``--bpe-vocab`` / ``--bpe-merge`` files). Everything else is ParlAI's ``BartAgent`` with the CRINGE loss.
"""

from __future__ import annotations

from parlai.agents.bart.bart import BartAgent
from parlai.core.agents import compare_init_model_opts
from parlai.core.opt import Opt
from parlai.core.params import ParlaiParser

from cringe_agent.agents.cringe import CringeAgentMixin


class CringeBartAgent(CringeAgentMixin, BartAgent):
    """BART whose labels marked ``classifier_label: neg`` are pushed down by CRINGE.

    Adds ``--bart-zoo-init`` (default true, ParlAI's behaviour): false starts from random weights instead of
    downloading ``zoo:bart/bart_large`` when no init model or model file exists.
    """

    @classmethod
    def add_cmdline_args(cls, parser: ParlaiParser, partial_opt: Opt | None = None) -> ParlaiParser:
        """ParlAI's BART flags, the CRINGE flags and ``--bart-zoo-init``."""
        super().add_cmdline_args(parser, partial_opt=partial_opt)
        group = parser.add_argument_group("CRINGE BART")
        group.add_argument(
            "--bart-zoo-init",
            type="bool",
            default=True,
            help="without an existing --init-model or --model-file, download zoo:bart/bart_large and start from it "
            "(ParlAI's behaviour); false: start from random weights, with no download",
        )
        return parser

    def _initialize_bart(self, opt: Opt) -> Opt:
        """ParlAI's set-up (download, fairseq conversion), without the download under ``--bart-zoo-init false``.

        Overrides ``BartAgent._initialize_bart`` (``parlai/agents/bart/bart.py``, ParlAI 1.7.2), which downloads
        ``bart_large`` and makes it the init model whenever no init model or model file exists.
        """
        if opt.get("bart_zoo_init", True):
            return super()._initialize_bart(opt)
        if opt.get("init_fairseq_model"):
            opt = self._convert_model(opt)
        compare_init_model_opts(opt, opt)
        return opt
