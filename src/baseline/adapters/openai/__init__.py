"""OpenAI-SDK adapters: ``openai-llm`` (Chat Completions: OpenAI, Azure OpenAI, any compatible server).

The SDK itself is imported lazily, so this package imports without the ``[openai]`` extra.
"""

from baseline.adapters.openai.chat import OpenAIChat

__all__ = ["OpenAIChat"]
