"""Google Cloud Natural Language adapters, one module each: sentiment (thresholded score) and content
classification (taxonomy categories mapped onto the dataset). ``common`` holds credentials, retries,
answer validation and tiered billing; its docstring lists the options."""

from baseline.adapters.gcp.classify import GoogleClassify
from baseline.adapters.gcp.common import ENV_CREDENTIALS, gcp_language_units, tiered_usd
from baseline.adapters.gcp.sentiment import GoogleSentiment

__all__ = ["ENV_CREDENTIALS", "GoogleClassify", "GoogleSentiment", "gcp_language_units", "tiered_usd"]
