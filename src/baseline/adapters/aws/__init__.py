"""AWS adapters, one module each: Comprehend prebuilt sentiment, a Comprehend custom classifier, an LLM on Bedrock.

``common`` holds what they share (credentials, client, retries, pacing, spend accounting); its module
docstring lists the options. The classes are re-exported here so ``baseline.adapters.aws:<Class>``
keeps working for entry points and imports.
"""

from baseline.adapters.aws.bedrock import BedrockLLM, normalize_answer, parse_label
from baseline.adapters.aws.common import credentials_problem, resolve_region
from baseline.adapters.aws.comprehend_custom import ComprehendCustom
from baseline.adapters.aws.comprehend_sentiment import ComprehendSentiment

__all__ = ["BedrockLLM", "ComprehendCustom", "ComprehendSentiment", "credentials_problem",
           "normalize_answer", "parse_label", "resolve_region"]
