"""Azure AI Language adapters, one module each: prebuilt sentiment, custom single-label classification.

``common`` holds the shared connection, retry and answer-validation code; its docstring lists the options.
"""

from baseline.adapters.azure.common import API_VERSION, ENV_ENDPOINT, ENV_KEY, MAX_DOC_CHARS
from baseline.adapters.azure.custom import AzureCustom
from baseline.adapters.azure.sentiment import AzureSentiment

__all__ = ["API_VERSION", "ENV_ENDPOINT", "ENV_KEY", "MAX_DOC_CHARS", "AzureCustom", "AzureSentiment"]
