"""Benchmark: azure-language-sentiment against the loopback double with a latency and a rate limit.

Measures the adapter's achieved throughput as a share of the ceiling (rate limit × 10 documents
per request; target ≥ 0.9), with the client-side pacing (``max_rps``) set to the limit and, for
contrast, without it (the service's 429 + Retry-After does the pacing); then a cached rerun's
billed units (target 0) and wall time. The real azure-ai-textanalytics client runs the requests.

    python bench/bench_cloud_azure.py [--docs 2000] [--latency-ms 50] [--rate 20]

Writes bench/results/cloud_azure.json.

``--faults`` measures answers and spend under a fault mix instead (malformed 200 bodies, documents
missing or renamed in the answer, billed-then-dropped connections, read timeouts after billing, a
throttle burst, per-document errors): items answered / total and reported possibly billed / what
the double metered (target >= 1.0), throttles counted against those sent, then what a rerun sends.
Writes bench/results/cloud_azure_faults.json.

    python bench/bench_cloud_azure.py --faults [--docs 1000]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from baseline.cli import main  # noqa: E402
from doubles.azure_language import AzureLanguageDouble  # noqa: E402

KEY = "benchFakeAzureKey000000000000000000"
NAME = "azure-language-sentiment"
WORDS = {"positive": ["love", "great", "excellent", "happy", "superb"],
         "negative": ["awful", "broken", "refund", "angry", "terrible"],
         "neutral": ["question", "address", "tuesday", "invoice", "delivery"]}


def write_data(path: Path, n_test: int) -> None:
    """n_test test rows (and a few train rows) with an explicit split column."""
    import pandas as pd

    rows = []
    labels = list(WORDS)
    for i in range(n_test + 30):
        lab = labels[i % 3]
        ws = WORDS[lab]
        rows.append({"text": f"{ws[i % 5]} {ws[(i + 2) % 5]} order {i}", "label": lab,
                     "split": "train" if i < 30 else "test"})
    pd.DataFrame(rows).to_csv(path, index=False)


def run(data: Path, out: Path, options: dict) -> tuple[dict, float]:
    """One `baseline compare` of the sentiment adapter; returns its result and the wall time."""
    cfg = out.parent / f"{out.name}.toml"
    cfg.write_text(f'[adapters."{NAME}"]\n' + "".join(f"{k} = {json.dumps(v)}\n" for k, v in options.items()),
                   encoding="utf-8")
    t = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):   # --json prints the whole results document
        rc = main(["compare", "--fresh", "--data", str(data), "--adapters", NAME, "--out", str(out), "--home", str(out / ".home"), "--config", str(cfg),
                   "--resamples", "100", "--no-progress", "--json"])
    wall = time.perf_counter() - t
    if rc not in (0, 1, 3):              # 1: the adapter failed, 3: items unanswered; its result says why
        raise SystemExit(f"compare exited {rc}")
    runs = sorted(p for p in out.iterdir() if p.is_dir() and not p.name.startswith("."))
    res = json.loads((runs[-1] / "results.json").read_text(encoding="utf-8"))
    return next(a for a in res["adapters"] if a["name"] == NAME), wall


def figures(res: dict, ceiling: float, wall: float) -> dict:
    t, c = res["timing"], res["counts"]
    thr = t.get("throughput_per_s") or 0.0
    return {"status": res["status"], "reason": res["reason"], "requests": c["requests"], "throttles": c["throttles"], "retries": c["retries"],
            "cached_items": c["cached_items"], "predict_s": round(t.get("predict_s") or 0.0, 3),
            "throughput_docs_per_s": round(thr, 1), "share_of_ceiling": round(thr / ceiling, 3),
            "request_p50_ms": round(t["request_latency_ms"].get("p50", 0.0), 1),
            "request_p95_ms": round(t["request_latency_ms"].get("p95", 0.0), 1),
            "service_p50_ms": round(t.get("service_latency_ms", {}).get("p50", 0.0), 1),
            "billed_now_units": res["cost"].get("billed_now_units", {}),
            "billed_now_usd": round(res["cost"]["billed_now_usd"], 6),
            "cached_usd": round(res["cost"]["cached_usd"], 6), "compare_wall_s": round(wall, 3)}


USD_PER_RECORD = 1.0 / 1000  # prices.toml azure_language.prebuilt_standard


def fault_bench(args: argparse.Namespace) -> dict:
    """A run under a fault mix, then a rerun: answered share, spend against the double's meter, counts."""
    import pandas as pd

    mix = [("malformed", 0.15), ("wrong_id", 0.05), ("missing", 0.05), ("drop", 0.10), ("timeout", 0.03)]
    options = {"max_concurrency": 4, "read_timeout": 0.5, "retry_backoff_factor": 0.01, "answer_attempts": 5,
               "max_consecutive_failures": 50}
    out: dict = {"setup": {"docs": args.docs, "latency_ms": args.latency_ms, "fault_share_of_processed_requests": dict(mix),
                           "throttle_burst": 8, "doc_errors": "texts containing 'refund' (first run only)",
                           "timeout_delay_s": 1.0, "options": options}}
    with tempfile.TemporaryDirectory() as tmp, \
            AzureLanguageDouble(key=KEY, latency_s=args.latency_ms / 1000, retry_after="0.05") as double:
        os.environ["AZURE_LANGUAGE_ENDPOINT"] = double.endpoint
        os.environ["AZURE_LANGUAGE_KEY"] = KEY
        tmp = Path(tmp)
        data = tmp / "bench.csv"
        write_data(data, args.docs)
        texts = pd.read_csv(data)
        texts = texts[texts["split"] == "test"]["text"].tolist()
        for k, (kind, rate) in enumerate(mix):
            double.inject(kind, rate=rate, seed=k, delay_s=1.0)
        double.throttle_next(8)
        refused_texts = [t for t in texts if "refund" in t]
        double.doc_errors = {t: ("InvalidDocument", "Document text is invalid.") for t in refused_texts}
        for key in ("first_run", "rerun"):
            records0, seen0 = double.meter.get("text_records", 0.0), len(double.requests)
            faults0 = dict(double.faults_served)
            res, wall = run(data, tmp / "faults", options)
            c, cost = res["counts"], res["cost"]
            metered = (double.meter.get("text_records", 0.0) - records0) * USD_PER_RECORD
            seen = double.requests[seen0:]
            answered = args.docs - c["unanswered"]
            refused = len(refused_texts) if key == "first_run" else 0
            sent = {d["text"] for q in seen for d in ((q.get("body") or {}).get("analysisInput") or {}).get("documents") or []}
            out[key] = {"status": res["status"], "items_answered": answered, "items_total": args.docs,
                        "answered_share": round(answered / args.docs, 4), "refused_per_document": refused,
                        "answered_share_of_not_refused": round(answered / (args.docs - refused), 4),
                        "distinct_texts_sent": len(sent), "cached_items": c["cached_items"],
                        "reported_billed_usd": round(cost["billed_now_usd"], 6),
                        "reported_possibly_billed_usd": round(cost["possibly_billed_now_usd"], 6),
                        "metered_usd": round(metered, 6),
                        "possibly_billed_over_metered": round(cost["possibly_billed_now_usd"] / metered, 4) if metered else None,
                        "billed_over_metered": round(cost["billed_now_usd"] / metered, 4) if metered else None,
                        "throttles_counted": c["throttles"], "throttles_sent_by_double": sum(q["status"] == 429 for q in seen),
                        "retries": c["retries"], "requests": c["requests"], "faults_served": {k: v - faults0.get(k, 0) for k, v in double.faults_served.items()},
                        "compare_wall_s": round(wall, 2)}
            print(f"{key}: answered {answered}/{args.docs}; possibly billed ${cost['possibly_billed_now_usd']:.4f} vs "
                  f"metered ${metered:.4f}; billed ${cost['billed_now_usd']:.4f}; throttles {c['throttles']} counted, "
                  f"{out[key]['throttles_sent_by_double']} sent; {len(sent)} distinct texts sent", file=sys.stderr)
            double.doc_errors = {}  # the service recovers: the rerun should answer what was left
    f, r = out["first_run"], out["rerun"]
    out["targets"] = {"answered_share_of_not_refused == 1.0 (first run)": f["answered_share_of_not_refused"] == 1.0,
                      "answered_share_after_rerun == 1.0": r["items_answered"] == args.docs,
                      "possibly_billed_over_metered >= 1.0 (both runs)": all(
                          x["possibly_billed_over_metered"] is None or x["possibly_billed_over_metered"] >= 1.0 for x in (f, r)),
                      "throttles counted == sent": all(x["throttles_counted"] == x["throttles_sent_by_double"] for x in (f, r)),
                      "rerun sends only the unanswered": r["distinct_texts_sent"] == f["items_total"] - f["items_answered"]}
    return out


def main_bench() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=2000, help="test texts per run (default 2000)")
    ap.add_argument("--latency-ms", type=float, default=50.0, help="double's fixed service latency (default 50)")
    ap.add_argument("--rate", type=float, default=20.0, help="double's rate limit, requests/s (default 20)")
    ap.add_argument("--faults", action="store_true", help="answers and spend under a fault mix (see the docstring)")
    ap.add_argument("--out", default=None, help="results file (default bench/results/cloud_azure[_faults].json)")
    args = ap.parse_args()
    args.out = args.out or str(ROOT / "bench" / "results" / ("cloud_azure_faults.json" if args.faults else "cloud_azure.json"))
    ceiling = args.rate * 10
    result: dict = {"benchmark": "cloud_azure", "adapter": NAME, "when": datetime.now(UTC).isoformat(timespec="seconds"),
                    "command": "python bench/bench_cloud_azure.py " + " ".join(sys.argv[1:]),
                    "setup": {"docs": args.docs, "latency_ms": args.latency_ms, "rate_limit_rps": args.rate,
                              "burst": 2, "retry_after_s": "1", "docs_per_request": 10,
                              "ceiling_docs_per_s": ceiling, "max_concurrency": 4},
                    "machine": {"python": platform.python_version(), "platform": platform.platform(),
                                "cpus": os.cpu_count()}}
    if args.faults:
        result["benchmark"] = "cloud_azure_faults"
        del result["setup"]
        result.update(fault_bench(args))
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        print(json.dumps({k: result[k] for k in result if k != "machine"}, indent=2))
        return
    with tempfile.TemporaryDirectory() as tmp, \
            AzureLanguageDouble(key=KEY, latency_s=args.latency_ms / 1000, rate_limit=args.rate, burst=2,
                                retry_after="1") as double:
        os.environ["AZURE_LANGUAGE_ENDPOINT"] = double.endpoint
        os.environ["AZURE_LANGUAGE_KEY"] = KEY
        tmp = Path(tmp)
        data = tmp / "bench.csv"
        write_data(data, args.docs)
        paced = {"max_rps": args.rate, "max_concurrency": 4}
        res, wall = run(data, tmp / "paced", paced)
        result["paced"] = {"options": paced, **figures(res, ceiling, wall), "requests_seen_by_double": len(double.requests)}
        double.reset_log()
        res, wall = run(data, tmp / "paced", paced)
        result["cached_rerun"] = {**figures(res, ceiling, wall), "requests_seen_by_double": len(double.requests)}
        double.reset_log()
        unpaced = {"max_concurrency": 4, "retry_total": 20}
        res, wall = run(data, tmp / "unpaced", unpaced)
        result["unpaced"] = {"options": unpaced, **figures(res, ceiling, wall),
                             "requests_seen_by_double": len(double.requests)}
    result["targets"] = {"share_of_ceiling_paced >= 0.9": result["paced"]["share_of_ceiling"] >= 0.9,
                         "cached_rerun_billed_units == 0": not any(result["cached_rerun"]["billed_now_units"].values())}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: result[k] for k in ("setup", "paced", "cached_rerun", "unpaced", "targets")}, indent=2))


if __name__ == "__main__":
    main_bench()
