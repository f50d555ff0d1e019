"""Scale: the harness's own cost from 10k to 1M rows, local vs ``--executor ray``, and one source tree against another.

Generates a synthetic labeled CSV in /tmp (``--set``: ``tickets``, 4 classes, ~220 bytes a row, the original;
``sentiment``, 2 classes, two-sentence product reviews, ~110 bytes a row, the issue's binary set; ``topics``, 50
classes, two-sentence support requests, ~90 bytes a row, many of them repeated), runs ``baseline compare --adapters
majority,tfidf-logreg`` as a child process under the stdlib's ``resource`` accounting, and reports, per run: wall,
time inside the adapters (cold start, fit, warm-up, predict, latency probe), harness overhead (wall − adapters) and
its share, the child's CPU seconds with its kernel seconds and minor page faults, the pipeline's own stage timings, peak RSS of the child and its ratio to the input file, the fixed cost
(``fixed_rss_mb``: the same command's peak on 1,000 rows of the same set, run first) and what the data adds above it
per byte of file (``above_fixed_over_file``), and what the profile and the label check found (so that a faster stage
can be checked for the same answers).

On Linux the child runs through ``stage_peaks.py``, which records every pipeline stage's peak (``stage_peaks``) and
the stage the run's peak came in (``peak_stage``). ``above_same_stage_over_file`` sets the peak against the 1,000-row
run's peak *in that stage* (``fixed_same_stage_mb``): the small run's own peak comes at its end, after the label
check's and the report's libraries are loaded, which a large run's peak (in the adapters' fit) has not loaded yet, so
``above_fixed_over_file`` subtracts ~30 MB too much and flatters the large run.
With two sizes or more, the summary's ``growth_over_file`` is what each further MB of file adds to the peak between
consecutive sizes: the fixed cost falls out, so it is the ratio a larger export's whole-process peak tends to.

Run: python bench/bench_scale.py --rows 10000 100000 1000000 [--set tickets|sentiment|topics]
     [--executor local ray] [--repeats 1] [--adapters majority] [--config default|unigram|min_df2] [--src TREE ...]

``--config default`` runs the adapters as shipped (tfidf-logreg: word 1-2-grams, C = 10), what a user gets
and what the issue measured; ``--config unigram`` a cheaper floor (unigrams, C = 1, min_df = 2), whose smaller
adapter time makes the harness's fixed cost a larger share. ``--adapters majority`` alone measures the harness
(the floor's own work is milliseconds). Each configuration runs in its own child process, one after another.

``--src`` runs each given source tree (put first on PYTHONPATH) in turn within every repeat, for paired before/after
figures on a busy machine: e.g. ``git archive <commit> src | tar -x -C /tmp/before`` then
``--src /tmp/before/src src --repeats 2``.

With ``--executor ray`` and a test set of at least 20,000 rows (``--ray-data-min-rows``; 100k rows and up here),
the free adapters predict through ray.data batch inference; ``adapter_timing`` says where (actors, blocks).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
STAGE_PEAKS = os.access("/proc/self/clear_refs", os.W_OK)   # stage_peaks.py can reset the kernel's high-water mark
CLASSES = ("billing", "delivery", "account", "technical")


def generate(rows: int, path: Path, seed: int = 0) -> Path:
    """Ticket-like texts: shared filler words plus a few class-leaning words; ~220 bytes a row."""
    if path.exists():
        return path
    rng = np.random.default_rng(seed)
    vocab = np.array([f"w{i:04d}" for i in range(5000)])
    lean = {c: np.array([f"{c[:3]}{i:03d}" for i in range(200)]) for c in CLASSES}
    y = rng.integers(0, len(CLASSES), rows)
    words = 36
    with open(path, "w", encoding="utf-8") as f:
        f.write("text,label\n")
        step = 50_000
        for s in range(0, rows, step):
            m = min(step, rows - s)
            filler = vocab[rng.zipf(1.3, size=(m, words)) % len(vocab)]
            k = rng.integers(1, 4, m)
            for i in range(m):
                c = CLASSES[y[s + i]]
                toks = list(filler[i])
                # a noisy signal: class words (sometimes another class's)
                src = lean[c] if rng.random() < 0.8 else lean[CLASSES[rng.integers(0, 4)]]
                toks[: k[i]] = src[rng.integers(0, 200, k[i])]
                f.write(" ".join(toks) + "," + c + "\n")
    return path


# --set sentiment: the issue's binary set, two-sentence product reviews (a verdict sentence and a follow-up), 2 labels;
# --set topics: the many-class set, 50 support topics in two sentences, each topic leaning on its own words and on a
# sibling topic's (so classes are confusable, as in banking77). Both ~100-130 bytes a row, seeded, with the label noise
# and mixed signals a real export has (the label check has something to find).
_OPENERS = ("The", "This", "My new", "Our", "The second", "Honestly the", "Overall the", "So far the")
_PRODUCTS = tuple(f"{a} {n}" for a in ("kitchen", "travel", "budget", "premium", "kids", "office", "garden", "smart")
                  for n in ("blender", "kettle", "backpack", "lamp", "headset", "charger", "chair", "jacket", "speaker",
                            "vacuum", "monitor", "toaster"))
_VERBS = ("is", "was", "seems", "felt", "looks", "turned out")
_INTENS = ("", "really", "very", "quite", "absolutely", "pretty", "so", "incredibly", "rather", "truly")
_ADJ = {"positive": ("great", "excellent", "sturdy", "reliable", "lovely", "fantastic", "solid", "comfortable", "handy",
                     "superb", "wonderful", "impressive", "well made", "good value", "easy to use", "quiet", "fast",
                     "perfect", "brilliant", "pleasant", "durable", "elegant", "useful", "smooth", "beautiful",
                     "dependable", "neat", "sharp", "cosy", "worth it"),
        "negative": ("terrible", "flimsy", "awful", "unreliable", "disappointing", "poor", "cheap feeling", "noisy",
                     "slow", "broken", "useless", "uncomfortable", "fragile", "overpriced", "clunky", "faulty", "bad",
                     "annoying", "mediocre", "horrible", "weak", "leaky", "wobbly", "frustrating", "dull", "shoddy",
                     "defective", "loud", "awkward", "a waste")}
_FOLLOW = {"positive": ("I would recommend it to anyone.", "Would buy again.", "Five stars from me.",
                        "It does exactly what it says.", "My family loves it.", "Best purchase this year.",
                        "Delivery was quick too.", "Worth every penny.", "I use it every day now.",
                        "Customer service was helpful.", "Happy with it so far.", "It exceeded my expectations.",
                        "Great price for the quality.", "No complaints at all.", "I bought a second one."),
           "negative": ("I would not recommend it.", "Returning it tomorrow.", "One star is generous.",
                        "It stopped working after a week.", "Save your money.", "Worst purchase this year.",
                        "Delivery took forever too.", "Not worth the price.", "I regret buying it.",
                        "Customer service never replied.", "Avoid this one.", "It fell apart quickly.",
                        "The instructions were useless.", "Complete disappointment.", "I asked for a refund."),
           "neutral": ("I bought it last month.", "It came in a blue box.", "I got it as a gift.",
                       "I use it at work.", "It arrived on Tuesday.", "My sister has the same one.",
                       "I compared a few models first.", "It replaced an older one.", "I ordered it online.",
                       "We have had it for a while.")}


def _skewed(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    """Indices 0..n-1, the first ones more common (a real vocabulary's skew, so some texts repeat)."""
    return np.minimum(rng.geometric(3.0 / n, size) - 1, n - 1)


_SYLLABLES = ("ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "da", "pe", "zu", "bo", "ri", "fa", "gu", "he", "ja",
              "ko", "ma", "ti")
_WORDS = np.array([a + b + c for a in _SYLLABLES for b in _SYLLABLES for c in _SYLLABLES][:5000])  # pseudo-words


def generate_sentiment(rows: int, path: Path, seed: int = 0) -> Path:
    """Binary two-sentence reviews: "<opener> <product> from <brand> <verb> <adjective>. <follow-up> <words>."
    85% of verdict adjectives and 60% of follow-ups lean on the label (the rest are neutral or the other class's),
    brands and trailing words are Zipf-distributed pseudo-words (a real vocabulary's long tail), 5% of labels
    flipped; ~110 bytes a row."""
    if path.exists():
        return path
    rng = np.random.default_rng(seed)
    labels = ("positive", "negative")
    y = rng.integers(0, 2, rows)
    side = np.where(rng.random(rows) < 0.85, y, 1 - y)           # which class the first sentence leans on
    kind = rng.random(rows)                                       # follow-up: own class, neutral or the other
    fside = np.where(kind < 0.6, y, np.where(kind < 0.85, 2, 1 - y))
    op, pr, vb, it = (rng.integers(0, len(t), rows) for t in (_OPENERS, _PRODUCTS, _VERBS, _INTENS))
    adj = _skewed(rng, 30, rows)
    fol = _skewed(rng, 15, rows)
    brand = _WORDS[rng.zipf(1.3, rows) % len(_WORDS)]
    tail_n = rng.integers(2, 7, rows)
    tail = _WORDS[rng.zipf(1.3, (rows, 6)) % len(_WORDS)]
    noisy = rng.random(rows) < 0.05
    fsets = (_FOLLOW["positive"], _FOLLOW["negative"], _FOLLOW["neutral"])
    with open(path, "w", encoding="utf-8") as f:
        f.write("text,label\n")
        for i in range(rows):
            first = " ".join(w for w in (_OPENERS[op[i]], _PRODUCTS[pr[i]], "from", brand[i], _VERBS[vb[i]],
                                         _INTENS[it[i]], _ADJ[labels[side[i]]][adj[i]]) if w)
            fs = fsets[fside[i]]
            second = fs[fol[i] % len(fs)][:-1] + " " + " ".join(tail[i, :tail_n[i]])
            lab = labels[1 - y[i]] if noisy[i] else labels[y[i]]
            f.write(f"{first}. {second}.,{lab}\n")
    return path


_TOPIC_NOUNS = ("card", "transfer", "refund", "pin", "account", "payment", "fee", "loan", "statement", "deposit")
_TOPIC_ISSUES = ("was declined", "has not arrived", "is missing", "was charged twice", "is blocked", "needs changing",
                 "looks wrong", "is pending", "was cancelled", "keeps failing")
_TOPIC_FILLERS = ("Can you help me please?", "This is urgent.", "I tried the app already.", "What should I do?",
                  "Thanks in advance.", "I have been waiting for days.", "Please advise.", "Is this normal?",
                  "I am abroad at the moment.", "Who do I contact about this?", "It happened yesterday.",
                  "I need it sorted today.", "The branch could not help.", "My partner has the same problem.",
                  "I called twice already.", "Nobody answers the phone.", "It worked fine last week.",
                  "I need a reply soon.", "Is there a fee for fixing it?", "I have screenshots if needed.",
                  "This has happened before.", "I am really annoyed.", "Please call me back.", "How long will it take?")
_TOPIC_WHEN = ("", "since Monday", "again", "this morning", "for the third time", "after the update", "today",
               "since my holiday", "last night", "this week", "after I moved", "once more")


def generate_topics(rows: int, path: Path, seed: int = 0, classes: int = 50) -> Path:
    """Many-class two-sentence support requests: topic = (noun, issue) pair; 75% of texts name their own pair, the
    rest their noun with a sibling topic's issue; 5% of labels flipped to any class. Texts are quoted (some hold commas)."""
    if path.exists():
        return path
    rng = np.random.default_rng(seed)
    topics = [(n, s) for n in _TOPIC_NOUNS for s in _TOPIC_ISSUES][:classes]
    names = [f"{n}_{s.replace(' ', '_')}" for n, s in topics]
    y = rng.integers(0, classes, rows)
    sib = (y + rng.integers(1, 4, rows)) % classes
    own = rng.random(rows) < 0.75
    ops = ("My", "Our", "The", "Hi, my", "Hello, the", "Sorry, my")
    quals = ("", "new", "old", "business", "joint", "savings", "debit", "main")
    op, qual, when = (rng.integers(0, len(t), rows) for t in (ops, quals, _TOPIC_WHEN))
    fi = _skewed(rng, len(_TOPIC_FILLERS), rows)
    lab = np.where(rng.random(rows) < 0.05, rng.integers(0, classes, rows), y)
    with open(path, "w", encoding="utf-8") as f:
        f.write("text,label\n")
        for i in range(rows):
            issue = topics[y[i]][1] if own[i] else topics[sib[i]][1]
            first = " ".join(w for w in (ops[op[i]], quals[qual[i]], topics[y[i]][0], issue, _TOPIC_WHEN[when[i]]) if w)
            f.write(f'"{first}. {_TOPIC_FILLERS[fi[i]]}",{names[lab[i]]}\n')
    return path


def head_rows(path: Path, rows: int) -> Path:
    """About ``rows`` rows of a CSV, the first of each class (at least 2 a class, so that it splits), written beside
    the generated sets (``--data``'s fixed cost)."""
    import pandas as pd

    df = pd.read_csv(path)
    per = max(2, rows // max(1, df["label"].nunique()))
    head = df.groupby("label", sort=False).head(per)
    head = head[head.groupby("label")["label"].transform("size") >= 2]
    out = Path(tempfile.gettempdir()) / f"baseline-scale-head{rows}-{path.stem}.csv"
    head.to_csv(out, index=False)
    return out


GENERATORS = {"tickets": generate, "sentiment": generate_sentiment, "topics": generate_topics}


def data_path(kind: str, rows: int) -> Path:
    """The generated CSV for a set and size (the ticket set keeps its old name, which bench_tfidf_solver reads)."""
    name = f"baseline-scale-{rows}.csv" if kind == "tickets" else f"baseline-scale-{kind}-{rows}.csv"
    return GENERATORS[kind](rows, Path(tempfile.gettempdir()) / name)


# --config default: the adapters as shipped (what a user runs; what the issue measured). --config unigram: unigram
# TF-IDF at C = 1, min_df = 2, a cheaper floor (less adapter time, so the harness's share is larger)
CONFIGS = {"default": "", "unigram": '[adapters.tfidf-logreg]\nngram_max = 1\nC = 1.0\nmin_df = 2\n',
           # the shipped floor but for min_df = 2: what dropping once-seen n-grams saves in memory, and costs in F1
           "min_df2": '[adapters.tfidf-logreg]\nmin_df = 2\n'}
CONFIG = CONFIGS["default"]


def run_once(data: Path, executor: str, extra: list[str], adapters: str, src: str | None = None) -> dict:
    with tempfile.TemporaryDirectory() as out:
        cfg = Path(out) / "baseline.toml"
        cfg.write_text(CONFIG)
        # Linux: through stage_peaks.py, which records each pipeline stage's peak (the phase-matched fixed cost
        # below); elsewhere the command itself, with the whole run's peak only
        peaks_file = Path(out) / "stage_peaks.json"
        entry = [str(REPO / "bench" / "stage_peaks.py")] if STAGE_PEAKS else ["-m", "baseline.cli"]
        cmd = [sys.executable, *entry, "compare", "--data", str(data), "--adapters",
               adapters, "--out", out, "--home", f"{out}/.home", "--no-progress", "--config", str(cfg), *extra]
        if executor != "local":
            cmd += ["--executor", executor]
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        before, cpu0, sys0, flt0 = ru.ru_maxrss, ru.ru_utime + ru.ru_stime, ru.ru_stime, ru.ru_minflt
        t0 = time.perf_counter()
        # --src: run another source tree of baseline (e.g. a checkout of the commit before a change), for paired runs
        env = {**os.environ, **({"PYTHONPATH": str(Path(src).resolve())} if src else {}),
               "BASELINE_STAGE_PEAKS": str(peaks_file)}
        p = subprocess.run(cmd, capture_output=True, text=True, env=env)
        wall = time.perf_counter() - t0
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        peak_kb, cpu = ru.ru_maxrss, ru.ru_utime + ru.ru_stime - cpu0
        kernel, faults = ru.ru_stime - sys0, ru.ru_minflt - flt0
        if p.returncode != 0:
            raise SystemExit(f"rc {p.returncode}: {p.stderr[-2000:]}")
        run = next(q for q in Path(out).iterdir() if q.is_dir() and not q.name.startswith("."))
        r = json.loads((run / "results.json").read_text())
        stage_peaks = json.loads(peaks_file.read_text()) if STAGE_PEAKS else None
    if stage_peaks is not None:  # the stage resets lowered ru_maxrss: the whole run's peak is the largest stage's
        peak_kb = stage_peaks["peak_mb"] * 1024
    keys = ("cold_start_s", "fit_s", "warmup_s", "predict_s", "probe_s", "explain_s")
    inside = sum(sum(a["timing"].get(k) or 0.0 for k in keys) for a in r["adapters"])
    size = data.stat().st_size
    lq = (r.get("data_plan") or {}).get("label_quality") or {}
    prof = r["profile"]
    return {"executor": executor, "src": src or "installed", "rows": r["profile"]["rows"], "wall_s": round(wall, 2),
            "pipeline_total_s": round(r["timing"]["total_s"], 2), "adapters_s": round(inside, 2),
            "overhead_s": round(wall - inside, 2), "overhead_share": round((wall - inside) / wall, 4),
            # the child's CPU seconds (user + system, all threads): on a shared machine wall grows with the load
            "cpu_s": round(cpu, 2),
            # of which in the kernel, and the pages it faulted in: on a virtual machine a fresh page costs microseconds,
            # and much of the harness's own time can be the kernel's
            "kernel_s": round(kernel, 2), "minor_faults": faults,
            "stages": {k: round(v, 2) for k, v in r["timing"].items() if isinstance(v, int | float)},
            # ru_maxrss of children is the largest child so far: only meaningful when it grows run to run,
            # so each configuration is best run in its own bench process (the default loop below does)
            "peak_rss_mb": round(peak_kb / 1024, 1), "peak_rss_mb_before": round(before / 1024, 1),
            "file_mb": round(size / 1e6, 1), "peak_over_file": round(peak_kb * 1024 / size, 2),
            # per pipeline stage: resident memory on entering it and its peak (MB); the stage the peak came in
            "stage_peaks": stage_peaks and stage_peaks["stages"], "peak_stage": stage_peaks and stage_peaks["peak_stage"],
            "macro_f1": {a["name"]: (a.get("metrics") or {}).get("macro_f1") for a in r["adapters"]},
            # per adapter: where its predict ran (ray.data on --executor ray above --ray-data-min-rows) and its times
            "adapter_timing": {a["name"]: {k: (round(v, 3) if isinstance(v, float) else v)
                                           for k, v in {**{k: a["timing"].get(k) for k in (*keys, "throughput_per_s")},
                                                        "ray_data_actors": (a["timing"].get("ray_data") or {}).get("actors"),
                                                        "ray_data_blocks": (a["timing"].get("ray_data") or {}).get("blocks"),
                                                        }.items()}
                               for a in r["adapters"]},
            # what the profile and the label check found, so that a faster stage can be checked for the same answers
            "profile": {k: prof.get(k) for k in ("exact_duplicate_rows", "normalized_duplicate_rows", "test_texts_in_train",
                                                 "test_texts_in_train_exact", "conflicting_label_texts")},
            "label_quality": {k: lq.get(k) for k in ("status", "method", "rows_checked", "sampled_from", "folds", "flagged",
                                                     "share", "share_ci", "oof_accuracy", "seconds")}}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--set", dest="kind", choices=sorted(GENERATORS), default="tickets",
                    help="generated data: tickets (4 classes, the original), sentiment (2 classes, two-sentence "
                         "reviews, the issue's set), topics (50 classes, two-sentence support requests)")
    ap.add_argument("--executor", nargs="+", default=["local"])
    ap.add_argument("--src", nargs="+", default=[None],
                    help="source trees to run (PYTHONPATH), alternated within each repeat: e.g. a checkout of the "
                         "commit before a change, then src")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--adapters", default="majority,tfidf-logreg")
    ap.add_argument("--config", choices=sorted(CONFIGS), default="default")
    ap.add_argument("--data", type=Path, help="a real CSV instead of a generated set (--rows and --set ignored); the "
                                              "fixed cost is then the same command on its first 1,000 rows")
    ap.add_argument("--single", action="store_true", help="one run (rows[0], executor[0], src[0]) in this process")
    ap.add_argument("--out", default=str(REPO / "bench" / "results" / "scale.json"))
    a = ap.parse_args()
    global CONFIG
    CONFIG = CONFIGS[a.config]
    if a.single:
        # the fixed cost first (ru_maxrss of children is the largest so far): the same command on 1,000 rows of the
        # same set, whose peak is the interpreter and libraries; what the data adds is judged above it
        small = run_once(head_rows(a.data, 1000) if a.data else data_path(a.kind, 1000), a.executor[0], [],
                         a.adapters, a.src[0])
        fixed = small["peak_rss_mb"]
        data = a.data or data_path(a.kind, a.rows[0])
        r = run_once(data, a.executor[0], [], a.adapters, a.src[0])
        r["fixed_rss_mb"] = fixed
        r["above_fixed_over_file"] = round((r["peak_rss_mb"] - fixed) / r["file_mb"] * 1.048576, 2)
        if r["peak_stage"] and small["stage_peaks"]:
            # the fixed cost of the stage the peak came in: the tiny run's peak in that same stage. The tiny run's
            # own peak comes later (the label check's and the report's libraries), so ``above_fixed_over_file``,
            # which subtracts it, flatters the large run by the libraries its peak stage has not loaded yet
            same = small["stage_peaks"][r["peak_stage"]]["peak_mb"]
            r["fixed_same_stage_mb"] = same
            r["above_same_stage_over_file"] = round((r["peak_rss_mb"] - same) / r["file_mb"] * 1.048576, 2)
        print(json.dumps({"set": a.kind, "adapters": a.adapters, "config": a.config, **r}))
        return
    runs = []
    for rows in [0] if a.data else a.rows:
        if not a.data:
            data_path(a.kind, rows)
        for rep in range(a.repeats):
            for src in a.src:  # paired: each source tree in turn, then again, so load drifts hit both alike
                for ex in a.executor:  # and local then ray
                    p = subprocess.run([sys.executable, __file__, "--single", "--rows", str(rows), "--set", a.kind,
                                        "--executor", ex, "--adapters", a.adapters, "--config", a.config,
                                        *(["--src", src] if src else []), *(["--data", str(a.data)] if a.data else [])],
                                       capture_output=True, text=True)
                    if p.returncode != 0:
                        print(p.stdout, p.stderr[-3000:], file=sys.stderr)
                        continue
                    r = json.loads(p.stdout.strip().splitlines()[-1])
                    r["repeat"] = rep
                    print(json.dumps(r), flush=True)
                    runs.append(r)
                    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
                    Path(a.out).write_text(json.dumps({"runs": runs}, indent=2))  # kept as it goes: long runs
    summary = summarize(runs)
    print(json.dumps(summary, indent=2))
    Path(a.out).write_text(json.dumps({"summary": summary, "runs": runs}, indent=2))


def summarize(runs: list[dict]) -> dict:
    """Medians per (rows, source tree, executor), in the order run: wall, adapters, overhead and its share, every
    stage; with two trees (or executors), the second's medians over the first's; with two sizes or more, the peak's
    growth per MB of file between consecutive sizes (``growth_over_file``)."""
    import statistics

    out: dict = {}
    for key in dict.fromkeys((r["rows"]["train"] + r["rows"]["test"], r["src"], r["executor"]) for r in runs):
        mine = [r for r in runs if (r["rows"]["train"] + r["rows"]["test"], r["src"], r["executor"]) == key]
        med = {k: round(statistics.median(r[k] for r in mine), 4) for k in ("wall_s", "adapters_s", "overhead_s",
                                                                             "overhead_share", "peak_rss_mb")}
        for k in ("peak_over_file", "fixed_rss_mb", "above_fixed_over_file", "fixed_same_stage_mb",
                  "above_same_stage_over_file"):
            if all(k in r for r in mine):
                med[k] = round(statistics.median(r[k] for r in mine), 2)
        med["stages"] = {k: round(statistics.median(r["stages"].get(k) or 0.0 for r in mine), 2)
                         for k in mine[0]["stages"]}
        med["runs"] = len(mine)
        out.setdefault(str(key[0]), {})[f"{key[1]} ({key[2]})"] = med
    for per in out.values():
        if len(per) == 2:
            old, new = per.values()
            per["ratio_second_over_first"] = {k: round(new[k] / old[k], 3) if old[k] else None
                                              for k in ("wall_s", "adapters_s", "overhead_s", "peak_rss_mb")} | {
                "stages": {k: round(new["stages"][k] / old["stages"][k], 3) if old["stages"].get(k) else None
                           for k in new["stages"]}}
    # what each further byte of file adds to the peak, between consecutive sizes (medians of each): the fixed cost
    # falls out, so this is the ratio a larger export's peak tends to (peak ~ fixed + growth x file)
    growth: dict = {}
    for tree in dict.fromkeys(k for per in out.values() for k in per if k != "ratio_second_over_first"):
        sizes = sorted((int(n), per[tree]) for n, per in out.items() if tree in per)
        files = {int(n): statistics.median(r["file_mb"] for r in runs
                                           if r["rows"]["train"] + r["rows"]["test"] == int(n)) for n, _ in sizes}
        for (n0, a), (n1, b) in zip(sizes, sizes[1:], strict=False):
            step = (b["peak_rss_mb"] - a["peak_rss_mb"]) * 1.048576 / (files[n1] - files[n0])
            growth.setdefault(tree, {})[f"{n0} -> {n1}"] = round(step, 2)
    if growth:
        out["growth_over_file"] = growth
    return out


if __name__ == "__main__":
    main()
