"""Tabular adapters: floors (mean, median), a linear model, default LightGBM and TabPFN on local weights.

Modules: ``common`` (rows → typed frame, the row-model interface, answers, permutation importance), ``floors``
(``mean``, ``median``), ``linear`` (``linear``), ``boosting`` (``lightgbm``), ``pretrained`` (``tabpfn``).
"""
