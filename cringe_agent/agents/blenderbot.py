"""CRINGE agents for BlenderBot 1 (Roller et al., 2021): ``transformer/generator`` with BlenderBot's architecture.

The BlenderBot 1 models of ParlAI's zoo (``zoo:blender/blender_90M``, ``blender_400Mdistill``,
``blender_1Bdistill``, ``blender_3B``, ``blender_9B``) are ParlAI ``transformer/generator`` checkpoints. ParlAI
builds the network from the command-line options and only warns when they differ from the init model's ``.opt``
(``compare_init_model_opts``), so fine-tuning one needs its architecture options. These agents are
:class:`~cringe_agent.agents.transformer.CringeTransformerGeneratorAgent` whose option defaults are that
architecture (:data:`BLENDER_ARCHS`); an option given on the command line still wins::

    parlai train_model -m cringe_agent.agents.blenderbot:CringeBlenderBotAgent -t TASK \\
        --init-model zoo:blender/blender_400Mdistill/model --dict-file zoo:blender/blender_400Mdistill/model.dict \\
        --cringe-alpha 1.0 --cringe-k 5 --model-file /tmp/bb1_cringe

:class:`CringeBlenderBotAgent` is the 400M distilled model the paper fine-tunes; the other sizes have their own class.
The values follow the released models' configurations (ParlAI's ``projects/blender`` training commands and
``parlai/zoo/model_list.py``); the ``model.opt`` that downloads beside each checkpoint is the reference to check them
against. The layer counts are ``--n-encoder-layers`` / ``--n-decoder-layers``, which take precedence over
``--n-layers``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from parlai.core.opt import Opt
from parlai.core.params import ParlaiParser

from cringe_agent.agents.transformer import CringeTransformerGeneratorAgent

#: Options every BlenderBot 1 model shares: GELU, learned positions, scaled embeddings, the history's end token.
BLENDER_COMMON: dict[str, Any] = {
    "activation": "gelu",
    "learn_positional_embeddings": True,
    "embeddings_scale": True,
    "n_segments": 0,
    "history_add_global_end_token": "end",
    "dropout": 0.1,
    "attention_dropout": 0.0,
    "relu_dropout": 0.0,
    "label_truncate": 128,
}

#: Options of the 2.7B family (3B, its distillations, and 9.4B): pre-layer-norm, byte-level BPE, 128 positions.
_BLENDER_BYTELEVEL: dict[str, Any] = {
    **BLENDER_COMMON,
    "variant": "prelayernorm",
    "n_positions": 128,
    "text_truncate": 128,
    "truncate": 128,
    "dict_tokenizer": "bytelevelbpe",
    "dict_lower": False,
    "delimiter": "  ",
    "n_heads": 32,
}


def _sizes(embedding: int, ffn: int, encoder_layers: int, decoder_layers: int) -> dict[str, int]:
    return {
        "embedding_size": embedding,
        "ffn_size": ffn,
        "n_encoder_layers": encoder_layers,
        "n_decoder_layers": decoder_layers,
    }


#: Architecture options of each BlenderBot 1 model, by zoo name (``zoo:blender/<name>/model``).
BLENDER_ARCHS: dict[str, dict[str, Any]] = {
    "blender_90M": {
        **BLENDER_COMMON,
        "variant": "xlm",
        "n_positions": 512,
        "text_truncate": 512,
        "truncate": 512,
        "dict_tokenizer": "bpe",
        "dict_lower": True,
        "n_heads": 16,
        **_sizes(512, 2048, 8, 8),
    },
    "blender_400Mdistill": {**_BLENDER_BYTELEVEL, **_sizes(1280, 5120, 2, 12)},
    "blender_1Bdistill": {**_BLENDER_BYTELEVEL, **_sizes(2560, 10240, 2, 12)},
    "blender_3B": {**_BLENDER_BYTELEVEL, **_sizes(2560, 10240, 2, 24)},
    "blender_9B": {**_BLENDER_BYTELEVEL, **_sizes(4096, 16384, 4, 32)},
}


class CringeBlenderBotAgent(CringeTransformerGeneratorAgent):
    """CRINGE ``transformer/generator`` whose defaults are BlenderBot 1 400M distilled (the paper's model).

    Subclasses name another size in :attr:`BLENDER_MODEL`, a key of :data:`BLENDER_ARCHS`.
    """

    BLENDER_MODEL: ClassVar[str] = "blender_400Mdistill"

    @classmethod
    def add_cmdline_args(cls, parser: ParlaiParser, partial_opt: Opt | None = None) -> ParlaiParser:
        """The CRINGE generator's flags, with :data:`BLENDER_ARCHS` ``[BLENDER_MODEL]`` as their defaults."""
        super().add_cmdline_args(parser, partial_opt=partial_opt)
        parser.set_defaults(**BLENDER_ARCHS[cls.BLENDER_MODEL])
        return parser


class CringeBlenderBot90MAgent(CringeBlenderBotAgent):
    """BlenderBot 1 90M (``zoo:blender/blender_90M``): XLM variant, lowercased subword BPE, 8 + 8 layers."""

    BLENDER_MODEL: ClassVar[str] = "blender_90M"


class CringeBlenderBot1BdistillAgent(CringeBlenderBotAgent):
    """BlenderBot 1 2.7B distilled to 1.4B (``zoo:blender/blender_1Bdistill``)."""

    BLENDER_MODEL: ClassVar[str] = "blender_1Bdistill"


class CringeBlenderBot3BAgent(CringeBlenderBotAgent):
    """BlenderBot 1 2.7B (``zoo:blender/blender_3B``): 2 encoder and 24 decoder layers of width 2560."""

    BLENDER_MODEL: ClassVar[str] = "blender_3B"


class CringeBlenderBot9BAgent(CringeBlenderBotAgent):
    """BlenderBot 1 9.4B (``zoo:blender/blender_9B``): 4 encoder and 32 decoder layers of width 4096."""

    BLENDER_MODEL: ClassVar[str] = "blender_9B"
