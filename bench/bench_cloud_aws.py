"""Benchmark: aws-comprehend-sentiment against the loopback double with a latency and a rate limit.

Measures the adapter's achieved throughput (documents/s) as a share of the ceiling (rate limit ×
25 documents per BatchDetectSentiment call; target ≥ 0.9) with the client-side pacing
(``max_rps``) set to the limit; for contrast the same run without pacing (botocore's standard
retries on ThrottlingException do the pacing) and with botocore's ``adaptive`` retry mode; then a
cached rerun's billed units (target 0) and wall time. The real boto3 client sends every request.

    python bench/bench_cloud_aws.py [--docs 5000] [--latency-ms 50] [--rate 20] [--burst 2]

Writes bench/results/cloud_aws.json.

``--faults`` measures answers and spend under a fault mix instead (malformed 200 bodies, answers
missing a document, billed-then-dropped connections, read timeouts after billing, a throttle burst,
per-document errors): items answered / total (target 1.0 after the rerun) and reported possibly
billed / what the double metered (target >= 1.0), with every throttle the double sent counted, then
what a rerun sends (only the unanswered items). Writes bench/results/cloud_aws_faults.json.

    python bench/bench_cloud_aws.py --faults [--docs 2000]
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
from doubles.aws_services import AwsDouble  # noqa: E402

NAME = "aws-comprehend-sentiment"
BATCH = 25
WORDS = {"positive": ["love", "great", "excellent", "happy", "superb"],
         "negative": ["awful", "broken", "refund", "angry", "terrible"],
         "neutral": ["question", "address", "tuesday", "invoice", "delivery"]}
FILLER = ("the order arrived on a weekday and the box was the usual size, nothing else to report about the "
          "courier or the packaging this time around")


def write_data(path: Path, n_test: int) -> None:
    """n_test test rows (and a few train rows) with an explicit split column; 100–250 characters each."""
    import pandas as pd

    rows = []
    labels = list(WORDS)
    for i in range(n_test + 30):
        lab = labels[i % 3]
        ws = WORDS[lab]
        text = f"{ws[i % 5]} {ws[(i + 2) % 5]} order {i}: " + FILLER[: 80 + (i * 37) % 140]
        rows.append({"text": text, "label": lab, "split": "train" if i < 30 else "test"})
    pd.DataFrame(rows).to_csv(path, index=False)


def run(data: Path, out: Path, options: dict) -> tuple[dict, float]:
    """One `baseline compare` of the sentiment adapter; returns its result and the wall time."""
    cfg = out.parent / f"{out.name}.toml"
    cfg.write_text(f'[adapters."{NAME}"]\n' + "".join(f"{k} = {json.dumps(v)}\n" for k, v in options.items()),
                   encoding="utf-8")
    t = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        rc = main(["compare", "--fresh", "--data", str(data), "--adapters", NAME, "--out", str(out), "--home", str(out / ".home"), "--config", str(cfg),
                   "--resamples", "100", "--no-progress", "--json"])
    wall = time.perf_counter() - t
    if rc not in (0, 1, 3):
        raise SystemExit(f"compare exited {rc}")
    runs = sorted(p for p in out.iterdir() if p.is_dir() and not p.name.startswith("."))
    res = json.loads((runs[-1] / "results.json").read_text(encoding="utf-8"))
    return next(a for a in res["adapters"] if a["name"] == NAME), wall


def figures(res: dict, ceiling: float, wall: float, double: AwsDouble) -> dict:
    t, c = res["timing"], res["counts"]
    thr = t.get("throughput_per_s") or 0.0
    seen = double.calls("BatchDetectSentiment")
    return {"status": res["status"], "reason": res["reason"], "requests": c["requests"],
            "throttles": c["throttles"], "retries": c["retries"], "item_errors": c["item_errors"],
            "cached_items": c["cached_items"], "predict_s": round(t.get("predict_s") or 0.0, 3),
            "throughput_docs_per_s": round(thr, 1), "share_of_ceiling": round(thr / ceiling, 3),
            "request_p50_ms": round(t["request_latency_ms"].get("p50", 0.0), 1),
            "request_p95_ms": round(t["request_latency_ms"].get("p95", 0.0), 1),
            "billed_now_units": res["cost"].get("billed_now_units", {}),
            "billed_now_usd": round(res["cost"]["billed_now_usd"], 6),
            "cached_usd": round(res["cost"]["cached_usd"], 6), "compare_wall_s": round(wall, 3),
            "requests_seen_by_double": len(seen),
            "throttled_by_double": sum(r.get("error") == "ThrottlingException" for r in seen),
            "max_docs_per_request": max((r.get("docs", 0) for r in seen), default=0)}


USD_PER_UNIT = 0.0001  # prices.toml aws_comprehend.nlp_sync


def fault_bench(args: argparse.Namespace, env: dict[str, str]) -> dict:
    """A run under a fault mix, then a rerun: answered share, spend against the double's meter, counts."""
    import pandas as pd

    mix = [("malformed", 0.25), ("missing", 0.05), ("drop", 0.10), ("timeout", 0.03)]
    options = {"max_concurrency": 4, "max_rps": 0, "read_timeout": 0.5, "max_consecutive_failures": 50}
    out: dict = {"setup": {"docs": args.docs, "latency_ms": args.latency_ms, "fault_share_of_processed_calls": dict(mix),
                           "throttle_burst": 12, "doc_errors": "texts containing 'refund' (first run only)",
                           "timeout_delay_s": 1.0, "options": options}}
    with tempfile.TemporaryDirectory() as tmp, AwsDouble(latency_s=args.latency_ms / 1000) as double:
        os.environ.update(env, AWS_ENDPOINT_URL_COMPREHEND=double.url)
        tmp = Path(tmp)
        data = tmp / "bench.csv"
        write_data(data, args.docs)
        for k, (kind, rate) in enumerate(mix):  # independent, seeded: the first that fires spoils the call
            double.inject("BatchDetectSentiment", kind, rate=rate, seed=k, delay_s=1.0)
        double.throttle_next(12, "BatchDetectSentiment")
        double.doc_errors["refund"] = ("INTERNAL_SERVER_ERROR", "Internal server error")
        for key in ("first_run", "rerun"):
            meter0, texts0, faults0 = dict(double.meter), double.texts_received, dict(double.faults_served)
            seen0 = len(double.requests)
            res, wall = run(data, tmp / "faults", options)
            c, cost = res["counts"], res["cost"]
            metered = (double.meter.get("comprehend_units", 0.0) - meter0.get("comprehend_units", 0.0)) * USD_PER_UNIT
            seen = double.requests[seen0:]
            answered = args.docs - c["unanswered"]
            refused = sum(1 for t in pd.read_csv(data)["text"].tolist()[30:] if "refund" in t) if key == "first_run" else 0
            out[key] = {"status": res["status"], "items_answered": answered, "items_total": args.docs,
                        "answered_share": round(answered / args.docs, 4),
                        "refused_per_document": refused,
                        "answered_share_of_not_refused": round(answered / (args.docs - refused), 4),
                        "texts_sent": double.texts_received - texts0,
                        "distinct_texts_sent": len({t for q in seen for t in (q.get("body") or {}).get("TextList") or []}),
                        "cached_items": c["cached_items"],
                        "reported_billed_usd": round(cost["billed_now_usd"], 6),
                        "reported_possibly_billed_usd": round(cost["possibly_billed_now_usd"], 6),
                        "metered_usd": round(metered, 6),
                        "possibly_billed_over_metered": round(cost["possibly_billed_now_usd"] / metered, 4) if metered else None,
                        "billed_over_metered": round(cost["billed_now_usd"] / metered, 4) if metered else None,
                        "throttles_counted": c["throttles"],
                        "throttles_sent_by_double": sum(r.get("error") == "ThrottlingException" for r in seen),
                        "retries": c["retries"], "requests": c["requests"], "faults_served": {k: v - faults0.get(k, 0) for k, v in double.faults_served.items()},
                        "compare_wall_s": round(wall, 2)}
            print(f"{key}: answered {answered}/{args.docs}; possibly billed ${cost['possibly_billed_now_usd']:.4f} vs "
                  f"metered ${metered:.4f}; billed ${cost['billed_now_usd']:.4f}; throttles {c['throttles']} counted, "
                  f"{out[key]['throttles_sent_by_double']} sent; {out[key]['distinct_texts_sent']} distinct texts sent", file=sys.stderr)
            double.doc_errors.clear()  # the service recovers: the rerun should answer what was left
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
    ap.add_argument("--docs", type=int, default=5000, help="test texts per run (default 5000)")
    ap.add_argument("--latency-ms", type=float, default=50.0, help="double's fixed service latency (default 50)")
    ap.add_argument("--rate", type=float, default=20.0, help="double's rate limit, requests/s (default 20)")
    ap.add_argument("--burst", type=float, default=2.0, help="double's token-bucket burst (default 2)")
    ap.add_argument("--skip-contrast", action="store_true", help="only the paced run and the cached rerun")
    ap.add_argument("--faults", action="store_true", help="answers and spend under a fault mix (see the docstring)")
    ap.add_argument("--out", default=None, help="results file (default bench/results/cloud_aws[_faults].json)")
    args = ap.parse_args()
    args.out = args.out or str(ROOT / "bench" / "results" / ("cloud_aws_faults.json" if args.faults else "cloud_aws.json"))
    ceiling = args.rate * BATCH
    result: dict = {"benchmark": "cloud_aws", "adapter": NAME, "when": datetime.now(UTC).isoformat(timespec="seconds"),
                    "command": "python bench/bench_cloud_aws.py " + " ".join(sys.argv[1:]),
                    "setup": {"docs": args.docs, "latency_ms": args.latency_ms, "rate_limit_rps": args.rate,
                              "burst": args.burst, "docs_per_request": BATCH, "ceiling_docs_per_s": ceiling,
                              "max_concurrency": 4, "throttle": "HTTP 400 ThrottlingException + Retry-After"},
                    "machine": {"python": platform.python_version(), "platform": platform.platform(),
                                "cpus": os.cpu_count()}}
    env = {"AWS_ACCESS_KEY_ID": "AKIABENCHFAKE0000001", "AWS_SECRET_ACCESS_KEY": "benchFakeSecret000000000000000000",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}
    if args.faults:
        result["benchmark"] = "cloud_aws_faults"
        del result["setup"]
        result.update(fault_bench(args, env))
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        print(json.dumps({k: result[k] for k in result if k not in ("machine",)}, indent=2))
        return
    with tempfile.TemporaryDirectory() as tmp, AwsDouble(latency_s=args.latency_ms / 1000) as double:
        os.environ.update(env, AWS_ENDPOINT_URL_COMPREHEND=double.url)
        double.set_rate_limit(args.rate, args.burst, service="comprehend")
        tmp = Path(tmp)
        data = tmp / "bench.csv"
        write_data(data, args.docs)
        runs = [("paced", "paced", {"max_rps": args.rate, "max_concurrency": 4}),
                ("cached_rerun", "paced", {"max_rps": args.rate, "max_concurrency": 4})]
        if not args.skip_contrast:
            runs += [("unpaced_standard", "unpaced", {"max_rps": 0, "max_concurrency": 4, "max_attempts": 20,
                                                      "max_consecutive_failures": 1000}),
                     ("unpaced_adaptive", "adaptive", {"max_rps": 0, "max_concurrency": 4, "retry_mode": "adaptive",
                                                       "max_attempts": 20, "max_consecutive_failures": 1000})]
        for key, folder, options in runs:
            double.requests.clear()
            res, wall = run(data, tmp / folder, options)
            result[key] = {"options": options, **figures(res, ceiling, wall, double)}
            print(f"{key}: {result[key]['throughput_docs_per_s']} docs/s = {result[key]['share_of_ceiling']:.1%} "
                  f"of {ceiling:g}; throttles {result[key]['throttles']}; billed now "
                  f"{result[key]['billed_now_units']} in {wall:.2f} s", file=sys.stderr)
    result["targets"] = {"share_of_ceiling_paced >= 0.9": result["paced"]["share_of_ceiling"] >= 0.9,
                         "cached_rerun_billed_units == 0": not any(result["cached_rerun"]["billed_now_units"].values()),
                         "cached_rerun_requests == 0": result["cached_rerun"]["requests_seen_by_double"] == 0}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: result[k] for k in result if k not in ("machine",)}, indent=2))


if __name__ == "__main__":
    main_bench()
