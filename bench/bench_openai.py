"""Benchmark: openai-llm against the Chat Completions double with a fixed latency and an RPM/TPM limit.

Through the real ``openai`` SDK and ``baseline compare``: achieved throughput as a share of the
ceiling (min(RPM, TPM / tokens per request); target >= 0.9) with the adapter's ``rpm``/``tpm`` pacing
set to the limits; tokens the run reports against the tokens the double metered (target: equal);
then a cached rerun's tokens and requests (target 0).

    python bench/bench_openai.py [--docs 400] [--latency-ms 200] [--rpm 1200] [--tpm 90000] [--concurrency 8]

Writes bench/results/openai.json. ``--unpaced`` leaves ``rpm``/``tpm`` unset, so the double's 429s with
``Retry-After`` (honoured by the SDK) do the pacing: throttles counted against those the double sent.
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
from doubles.openai_chat import ChatDouble  # noqa: E402

KEY = "sk-benchFakeOpenAIKey00000000000000000000"
NAME = "openai-llm"
WORDS = {"positive": ["love", "great", "excellent", "happy", "superb"],
         "negative": ["awful", "broken", "refund", "angry", "terrible"],
         "neutral": ["question", "address", "tuesday", "invoice", "delivery"]}


def write_data(path: Path, n_test: int) -> dict[str, str]:
    import pandas as pd

    rows = []
    labels = list(WORDS)
    for i in range(n_test + 30):
        lab = labels[i % 3]
        ws = WORDS[lab]
        rows.append({"text": f"{ws[i % 5]} {ws[(i + 2) % 5]} order {i}", "label": lab,
                     "split": "train" if i < 30 else "test"})
    pd.DataFrame(rows).to_csv(path, index=False)
    return {r["text"]: r["label"] for r in rows}


def run(data: Path, out: Path, options: dict) -> tuple[dict, float]:
    cfg = out.parent / f"{out.name}.toml"
    cfg.write_text(f'[adapters."{NAME}"]\n' + "".join(f"{k} = {json.dumps(v)}\n" for k, v in options.items()),
                   encoding="utf-8")
    t = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        rc = main(["compare", "--data", str(data), "--adapters", NAME, "--out", str(out), "--home", str(out / ".home"),
                   "--config", str(cfg), "--resamples", "100", "--no-progress", "--json"])
    wall = time.perf_counter() - t
    if rc not in (0, 1, 3):
        raise SystemExit(f"compare exited {rc}")
    runs = sorted(p for p in out.iterdir() if p.is_dir() and not p.name.startswith("."))
    res = json.loads((runs[-1] / "results.json").read_text(encoding="utf-8"))
    return next(a for a in res["adapters"] if a["name"] == NAME), wall


def main_bench() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=400)
    ap.add_argument("--latency-ms", type=float, default=200.0)
    ap.add_argument("--rpm", type=float, default=1200.0)
    ap.add_argument("--tpm", type=float, default=90000.0)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--unpaced", action="store_true", help="no client-side pacing: the service's 429s pace")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "openai.json"))
    args = ap.parse_args()
    result: dict = {"benchmark": "openai", "adapter": NAME, "when": datetime.now(UTC).isoformat(timespec="seconds"),
                    "command": "python bench/bench_openai.py " + " ".join(sys.argv[1:]),
                    "machine": {"python": platform.python_version(), "platform": platform.platform(),
                                "cpus": os.cpu_count()}}
    with tempfile.TemporaryDirectory() as tmp, ChatDouble(key=KEY, latency=args.latency_ms / 1000, rpm=args.rpm,
                                                          tpm=args.tpm, burst_s=1.0) as double:
        os.environ["OPENAI_API_KEY"] = KEY
        tmp = Path(tmp)
        data = tmp / "bench.csv"
        double.oracle = write_data(data, args.docs)
        options = {"model": "gpt-4o-mini", "base_url": double.url, "rpm": args.rpm, "tpm": args.tpm,
                   "max_concurrency": args.concurrency, "max_retries": 8}
        if args.unpaced:
            del options["rpm"], options["tpm"]
            options["max_retries"] = 30
        res, wall = run(data, tmp / "run", options)
        ok = [r for r in double.calls() if r["status"] == 200]
        span = ok[-1]["t"] - ok[0]["t"] if len(ok) > 1 else 0.0
        reserved = [double.prompt_tokens(r["body"]["messages"]) + int(r["body"].get("max_tokens") or 0) for r in ok]
        per_req = sum(reserved) / len(reserved)
        ceiling = min(args.rpm / 60, args.tpm / 60 / per_req)
        achieved = (len(ok) - 1) / span if span else 0.0  # request arrivals per second at the double
        units = res["cost"].get("billed_now_units", {})
        result["setup"] = {"docs": args.docs, "latency_ms": args.latency_ms, "rpm": args.rpm, "tpm": args.tpm,
                           "burst_s": 1.0, "max_concurrency": args.concurrency,
                           "tokens_per_request_counted_by_limit": round(per_req, 2),
                           "ceiling_requests_per_s": round(ceiling, 3),
                           "binding_limit": "rpm" if args.rpm / 60 <= args.tpm / 60 / per_req else "tpm"}
        result["first_run"] = {
            "status": res["status"], "requests_answered": len(ok), "throttles_counted": res["counts"]["throttles"],
            "throttles_sent_by_double": sum(r["status"] == 429 for r in double.calls()),
            "achieved_requests_per_s": round(achieved, 3), "share_of_ceiling": round(achieved / ceiling, 3),
            "runner_throughput_per_s": round(res["timing"].get("throughput_per_s") or 0.0, 3),
            "reported_input_tokens": units.get("input_tokens"), "metered_input_tokens": double.meter["prompt_tokens"],
            "reported_output_tokens": units.get("output_tokens"),
            "metered_output_tokens": double.meter["completion_tokens"],
            "estimate_usd": round(res["cost"]["estimate_usd"], 6), "billed_usd": round(res["cost"]["billed_now_usd"], 6),
            "accuracy": res["metrics"]["accuracy"], "compare_wall_s": round(wall, 2)}
        seen = len(double.calls())
        metered = dict(double.meter)
        res2, wall2 = run(data, tmp / "run", options)
        units2 = res2["cost"].get("billed_now_units", {})
        result["cached_rerun"] = {"status": res2["status"], "requests_sent": len(double.calls()) - seen,
                                  "cached_items": res2["counts"]["cached_items"],
                                  "tokens_billed": (units2.get("input_tokens") or 0) + (units2.get("output_tokens") or 0),
                                  "tokens_metered": (double.meter["prompt_tokens"] - metered["prompt_tokens"])
                                  + (double.meter["completion_tokens"] - metered["completion_tokens"]),
                                  "compare_wall_s": round(wall2, 2)}
    f, r = result["first_run"], result["cached_rerun"]
    result["targets"] = {"share_of_ceiling >= 0.9": f["share_of_ceiling"] >= 0.9,
                         "throttles counted == sent": f["throttles_counted"] == f["throttles_sent_by_double"],
                         "tokens reported == metered": f["reported_input_tokens"] == f["metered_input_tokens"]
                         and f["reported_output_tokens"] == f["metered_output_tokens"],
                         "cached rerun tokens == 0": r["tokens_billed"] == 0 and r["tokens_metered"] == 0
                         and r["requests_sent"] == 0}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: result[k] for k in result if k != "machine"}, indent=2))


if __name__ == "__main__":
    main_bench()
