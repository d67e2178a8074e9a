"""``CringeTransformerGeneratorAgent``: ParlAI's ``transformer/generator`` trained with the CRINGE loss.

    parlai train_model -m cringe_agent.agents.transformer:CringeTransformerGeneratorAgent -t TASK \\
        --cringe-alpha 1.0 --cringe-k 5 --model-file /tmp/model
"""

from __future__ import annotations

from parlai.agents.transformer.transformer import TransformerGeneratorAgent

from cringe_agent.agents.cringe import CringeAgentMixin


class CringeTransformerGeneratorAgent(CringeAgentMixin, TransformerGeneratorAgent):
    """Transformer encoder-decoder whose labels marked ``classifier_label: neg`` are pushed down by CRINGE."""
