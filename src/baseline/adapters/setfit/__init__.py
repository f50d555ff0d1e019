"""SetFit few-shot adapters (extra ``setfit``): ``setfit-8`` and ``setfit-64``, one module, ``adapter``."""

from baseline.adapters.setfit.adapter import RANK_FEWSHOT_FINETUNE, SetFit8, SetFit64, SetFitAdapter

__all__ = ["RANK_FEWSHOT_FINETUNE", "SetFit8", "SetFit64", "SetFitAdapter"]
