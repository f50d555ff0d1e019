"""Few-shot selection on banking77 (77 classes): what each strategy puts in the prompt, without an LLM.

No LLM is reachable here, so this measures what can be measured offline, with the same selection code
the adapters use (``baseline.adapters.llm.FewShot``) and the real MiniLM sentence encoder:

- ``label_hit``: share of test texts whose true label is among their few-shot examples' labels;
- ``nn_vote_accuracy``: accuracy of a majority vote of the examples' labels (a floor for what the LLM
  is shown; nearest neighbours only, random examples carry no information about the query);
- prompt tokens per request (tiktoken o200k_base, the system prompt with all 77 labels included).

Which selection gives the better *LLM* accuracy needs a real endpoint: run

    baseline compare --data ../shared/datasets/banking77/banking77.csv --adapters openai-llm \\
        --config fewshot-random.toml   # few_shot = 10, few_shot_selection = "random"
    baseline compare ... --config fewshot-nearest.toml  # few_shot = 10, few_shot_selection = "nearest"

    python bench/bench_fewshot.py [--train 3000] [--test 500] [--k 10]

Writes bench/results/fewshot_banking77.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "datasets" / "banking77" / "banking77.csv"


def main_bench() -> None:
    import pandas as pd

    from baseline.adapters import llm

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--train", type=int, default=3000)
    ap.add_argument("--test", type=int, default=500)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "fewshot_banking77.json"))
    args = ap.parse_args()
    df = pd.read_csv(args.data)
    tr = df[df.split == "train"].sample(min(args.train, (df.split == "train").sum()), random_state=0)
    te = df[df.split == "test"].sample(min(args.test, (df.split == "test").sum()), random_state=0)
    labels = sorted(df.label.unique())
    count, how = llm.token_counter("gpt-4o-mini")
    system = llm.system_prompt(labels)
    result: dict = {"benchmark": "fewshot_banking77", "when": datetime.now(UTC).isoformat(timespec="seconds"),
                    "command": "python bench/bench_fewshot.py " + " ".join(sys.argv[1:]),
                    "setup": {"train": len(tr), "test": len(te), "classes": len(labels), "k": args.k,
                              "tokenizer": how, "encoder": "sentence-transformers/all-MiniLM-L6-v2 (packaged copy)"},
                    "machine": {"python": platform.python_version(), "platform": platform.platform(),
                                "cpus": os.cpu_count()},
                    "strategies": {}}
    plans = [("random", args.k), ("per_class", 1), ("nearest", args.k)]
    for method, k in plans:
        fs = llm.FewShot(k, method, seed=42)
        t0 = time.perf_counter()
        fs.fit(tr.text.tolist(), tr.label.tolist(), labels)
        fit_s = time.perf_counter() - t0
        hits, votes, tokens = 0, 0, 0
        t0 = time.perf_counter()
        for text, truth in zip(te.text, te.label, strict=True):
            ex = fs.for_text(text)
            ex_labels = [lab for _, lab in ex]
            hits += truth in ex_labels
            votes += bool(ex_labels) and Counter(ex_labels).most_common(1)[0][0] == truth
            tokens += llm.chat_tokens(count, [("system", system), *llm.turns(text, ex)])
        n = len(te)
        result["strategies"][f"{method} (few_shot={k})"] = {
            "examples_per_prompt": len(ex), "label_hit": round(hits / n, 3),
            "nn_vote_accuracy": round(votes / n, 3) if method == "nearest" else None,
            "prompt_tokens_per_request": round(tokens / n, 1), "fit_s": round(fit_s, 2),
            "select_ms_per_text": round((time.perf_counter() - t0) / n * 1000, 2)}
        print(method, result["strategies"][f"{method} (few_shot={k})"], file=sys.stderr)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in result.items() if k != "machine"}, indent=2))


if __name__ == "__main__":
    main_bench()
