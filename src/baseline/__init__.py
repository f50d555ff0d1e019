"""baseline: is an off-the-shelf text classifier already good enough, and which is simplest?"""

from baseline.errors import BadInput

__version__ = "0.1.0"
RESULTS_SCHEMA_VERSION = "1.0"

__all__ = ["BadInput", "__version__", "RESULTS_SCHEMA_VERSION"]
