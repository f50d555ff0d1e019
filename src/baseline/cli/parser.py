"""The command line's grammar: every subcommand, its flags and help text (exit codes are in ``exits``)."""

from __future__ import annotations

import argparse

from baseline import __version__
from baseline.errors import BadInput

COMPARE_EPILOG = """\
examples:
  baseline compare --task text-classification
  baseline compare --task text-classification --data tickets.csv --text-col body --label-col queue \\
      --adapters all --max-cost 5 --min-metric 0.85

Paid (cloud) adapters run only when named in --adapters or with --adapters all; otherwise they are
listed with their cost estimates. Credentials come from the SDKs' own chains (AWS profiles/env,
AZURE_LANGUAGE_ENDPOINT + AZURE_LANGUAGE_KEY or DefaultAzureCredential). azure-language-custom
classifies with a project and deployment you trained in Azure: training Azure custom models is out
of scope. Settings can live in baseline.toml ([compare], [bar], [adapters.<name>], [label_maps.<name>],
[prices]); flags override it.

The response cache and the run history live in a per-user home, not under --out, so reruns,
--resume and `baseline history` work from any folder: --home, else $BASELINE_HOME, else the platform's
cache/data folders (~/.cache/baseline and ~/.local/share/baseline on Linux). Ctrl-C, SIGTERM and
SIGHUP all stop the run the same way: billable resources are torn down first (a second interrupt
during teardown is refused), the run is marked interrupted, and `--resume` continues it after
deleting anything a killed run left (`baseline cleanup` does that on its own).

Reruns run only what is new: on data whose split matches an earlier finished run (same split hash),
every candidate whose identity is unchanged (adapter name and version, options, label map, seed,
model/API identity, package versions) is copied from the newest such run, predictions included, and
marked in the report with the run it came from and its date; new or changed candidates run. --fresh
reruns everything, --rerun a,b reruns those. The "since the last run" section says what is new, what
changed and whether the verdict moved.

exit codes: 0 success, 1 finished but some adapter failed, 2 bad input or configuration,
3 finished but some items went unanswered (an adapter ended "incomplete": the service gave no valid
answer after retries; or "stopped" by --max-cost): rerun, or --resume the run folder, to ask only
those items again. 1 wins over 3. 130 interrupted.
"""

HOME_HELP = ("per-user folder for the response cache and run history (default: $BASELINE_HOME, else "
             "~/.cache/baseline + ~/.local/share/baseline on Linux, ~/Library/... on macOS, %%LOCALAPPDATA%% on Windows)")

BAR_METRICS = ("macro_f1", "micro_f1", "samples_f1", "accuracy", "weighted_f1", "r2")
MAX_BAR_METRICS = ("rmse", "mae", "mape")  # lower is better: their bars are maxima


def number(name: str):
    """An argparse type: a float, or one line naming the flag."""
    def conv(s: str) -> float:
        try:
            return float(s)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a number, got {s!r}") from None
    return conv


class _Parser(argparse.ArgumentParser):
    """A parser whose errors are one line and exit 2 (``BadInput``), never argparse's usage dump."""

    def error(self, message: str) -> None:  # one line, exit 2
        raise BadInput(f"{self.prog}: {message} (see --help)")


def build_parser() -> argparse.ArgumentParser:
    """The ``baseline`` parser: one subparser per command."""
    p = _Parser(prog="baseline", description="Is an off-the-shelf text classifier already good enough? "
                "Runs cloud services, pretrained models and AutoML on one frozen split and names the simplest viable option.",
                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"baseline {__version__}")
    sub = p.add_subparsers(dest="cmd", metavar="COMMAND", parser_class=_Parser)
    _add_compare(sub)
    _add_estimate(sub)
    _add_adapters(sub)
    _add_report(sub)
    _add_history(sub)
    _add_diff(sub)
    _add_gate(sub)
    _add_cleanup(sub)
    return p


def _data_args(sp: argparse.ArgumentParser) -> None:
    """The data and candidate flags that compare and estimate share."""
    sp.add_argument("--task", help="the task: text-classification (default; label sets joined by --label-sep "
                    "are read as multi-label, with a note), multi-label-text-classification (alias multi-label), "
                    "tabular-classification or tabular-regression (a table: --label-col is the target)")
    sp.add_argument("--feature-cols", metavar="A,B", help="tables: only these columns are features (default: all "
                    "but the target, minus identifiers, constants and target leaks, each dropped with its reason)")
    sp.add_argument("--drop-cols", metavar="A,B", help="tables: never use these columns as features")
    sp.add_argument("--time-col", help="tables: split in time order on this column (train on the past, test on "
                    "the future)")
    sp.add_argument("--multi-label", action="store_true",
                    help="several labels per row: one column of labels joined by --label-sep, or --label-cols")
    sp.add_argument("--single-label", action="store_true",
                    help="one label per row, even when label values contain --label-sep (no detection)")
    sp.add_argument("--label-sep", help="multi-label: the character joining a row's labels in --label-col "
                    "(default '|'; an empty cell is the empty set)")
    sp.add_argument("--label-cols", metavar="A,B,C", help="multi-label: one 0/1 column per label "
                    "(instead of --label-col)")
    sp.add_argument("--data", help="CSV, TSV, JSONL, JSON or Parquet file (default: the bundled demo feedback data)")
    sp.add_argument("--text-col", help="column holding the text (auto-detected: text, sentence, body, ...)")
    sp.add_argument("--label-col", help="column holding the label (auto-detected: label, class, category, ...)")
    sp.add_argument("--split-col", help="column with train/test/validation; kept when present (auto-detected: split)")
    sp.add_argument("--test-size", type=number("--test-size"), help="test share when the file has no split (default 0.25)")
    sp.add_argument("--seed", type=int, help="seed for the split, bootstrap and adapters (default 42)")
    sp.add_argument("--adapters", help="comma-separated adapter names, 'all', or omit for every free adapter")
    sp.add_argument("--config", help="path to baseline.toml (default: ./baseline.toml if present)")
    sp.add_argument("--json", action="store_true", help="print results as JSON on stdout")


def _add_compare(sub) -> None:
    """``compare``: the data flags, then the run folder, the bar, the business case and execution."""
    c = sub.add_parser("compare", help="run the candidates and write a report",
                       description="Run candidates on one frozen split; compare accuracy, cost and latency; decide.",
                       epilog=COMPARE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    _data_args(c)
    _run_folder_args(c)
    _bar_args(c)
    _business_args(c)
    _execution_args(c)


def _run_folder_args(c: argparse.ArgumentParser) -> None:
    """Where the run goes, what it reuses, and MLflow."""
    c.add_argument("--out", help="folder for run folders (default: reports)")
    c.add_argument("--home", help=HOME_HELP)
    c.add_argument("--resume", metavar="RUN", help="finish an interrupted run (its folder, or its id from `baseline history`): "
                   "leftover billable resources are deleted first, finished adapters are kept, paid answers come from the cache, "
                   "incomplete/stopped adapters send only their unanswered items, and --max-cost counts what earlier "
                   "attempts spent")
    c.add_argument("--fresh", action="store_true", help="rerun every candidate: reuse no earlier result on this split")
    c.add_argument("--rerun", metavar="A,B", help="rerun these candidates even when an earlier run on the same split "
                   "has a result with the same identity (the others are still reused)")
    c.add_argument("--mlflow", action="store_true", help="log the comparison to MLflow (extra [mlflow]): a parent run "
                   "with the verdict, split hash and reports; a child run per candidate with options, metrics with CI "
                   "bounds, latency, cost and predictions. Tracking URI: --mlflow-uri, else $MLFLOW_TRACKING_URI")
    c.add_argument("--mlflow-uri", metavar="URI", help="MLflow tracking URI (implies --mlflow)")
    c.add_argument("--mlflow-experiment", metavar="NAME", help="MLflow experiment (default: the dataset's name; implies --mlflow)")


def _bar_args(c: argparse.ArgumentParser) -> None:
    """The spending cap, the headline metric and the bar the verdict is held to."""
    c.add_argument("--max-cost", type=number("--max-cost"), help="USD cap on what this run may spend on paid services")
    c.add_argument("--metric", help="headline metric: macro_f1 (single-label default), accuracy, weighted_f1; "
                   "multi-label: micro_f1 (default), macro_f1, samples_f1, accuracy (subset accuracy)")
    for m in BAR_METRICS:
        c.add_argument(f"--min-{m.replace('_', '-')}", dest=f"min_{m}", type=number(f"--min-{m.replace('_', '-')}"),
                       help=argparse.SUPPRESS if m != "micro_f1" else
                       "bar on a named metric with the same CI rule (--min-macro-f1, --min-micro-f1, --min-samples-f1, "
                       "--min-accuracy, --min-weighted-f1, --min-r2)")
    for m in MAX_BAR_METRICS:
        c.add_argument(f"--max-{m}", dest=f"max_{m}", type=number(f"--max-{m}"),
                       help=argparse.SUPPRESS if m != "rmse" else
                       "tabular regression: bar on an error metric, a maximum in the target's units, judged on its "
                       "95%% CI (--max-rmse, --max-mae, --max-mape as a fraction)")
    c.add_argument("--min-metric", dest="min_metric", type=number("--min-metric"),
                   help="bar: minimum headline metric")
    c.add_argument("--max-metric", dest="max_metric", type=number("--max-metric"),
                   help="bar: maximum headline metric, for a lower-is-better headline such as RMSE")
    c.add_argument("--max-p95-ms", type=number("--max-p95-ms"), help="bar: maximum p95 per-item latency (ms)")
    c.add_argument("--max-cost-per-1k", type=number("--max-cost-per-1k"), help="bar: maximum USD per 1,000 predictions")
    c.add_argument("--max-one-off", type=number("--max-one-off"), help="bar: maximum one-off USD (training, setup)")
    c.add_argument("--monthly-volume", type=int, help="predictions per month, for the cost projection and the business case")


def _business_args(c: argparse.ArgumentParser) -> None:
    """The business case, the label check and the non-inferiority margin."""
    c.add_argument("--manual-cost-per-item", type=number("--manual-cost-per-item"),
                   help="business case: USD to handle one item by hand (with --error-cost and --monthly-volume; "
                   "optional for tabular regression)")
    c.add_argument("--error-cost", type=number("--error-cost"),
                   help="business case: USD cost of one wrong automatic decision; tabular regression: USD per unit "
                   "of absolute error")
    c.add_argument("--precision-target", type=number("--precision-target"),
                   help="business case: automate only at this precision or better, e.g. 0.95 (default: the "
                   "threshold with the highest saving)")
    c.add_argument("--no-label-check", action="store_true",
                   help="skip the label-quality check (cleanlab, extra [data]) on the train split")
    c.add_argument("--margin", type=number("--margin"), help="non-inferiority margin on the headline metric: a simpler candidate replaces the best only when shown "
                   "at most this much worse (default 0.02)")


def _execution_args(c: argparse.ArgumentParser) -> None:
    """Where and how the candidates run, and what is measured."""
    c.add_argument("--device", help="auto (cuda, then mps, then cpu), cpu, cuda, cuda:1, mps")
    c.add_argument("--threads", type=int, help="CPU threads for local models")
    c.add_argument("--executor", choices=("local", "ray"), help="where candidates run: this process (local, the "
                   "default) or Ray tasks (extra [ray]; paid adapters stay on the driver under one budget)")
    c.add_argument("--ray-address", help="with --executor ray: an existing cluster (ray://host:10001 or auto); "
                   "default: a local Ray instance for the run")
    c.add_argument("--ray-data-min-rows", help="with --executor ray: free local models predict through ray.data "
                   "batch inference when the test set has at least this many rows (default 20000; 0: always; off: never)")
    c.add_argument("--ray-data-actors", type=int, help="with --executor ray: a fixed pool of this many ray.data "
                   "actors per adapter (default: 1 up to as many as the cluster's CPUs hold)")
    c.add_argument("--time-budget", type=number("--time-budget"), help="FLAML search budget in seconds (default 60; on a table 1 s per 300 train rows, 5 to 60)")
    c.add_argument("--learning-curve", action="store_true", help="refit trainable adapters on 10/25/50/100%% of train")
    c.add_argument("--resamples", type=int, help="bootstrap resamples (default 1000)")
    c.add_argument("--latency-probe", type=int, help="single-item requests timed per free adapter (default 100)")
    c.add_argument("--no-progress", action="store_true",
                   help="no progress: neither the live display (terminal) nor the periodic progress lines "
                        "written to stderr when output is redirected (every $BASELINE_PROGRESS_INTERVAL s, 10)")


def _add_estimate(sub) -> None:
    e = sub.add_parser("estimate", help="billed units and USD per adapter, before paying (no credentials needed)")
    _data_args(e)


def _add_adapters(sub) -> None:
    a = sub.add_parser("adapters", help="list adapters with family, availability and reason")
    a.add_argument("--json", action="store_true")
    a.add_argument("--config")
    a.add_argument("--task", default="text-classification",
                   help="availability for this task (text-classification, multi-label-text-classification)")


def _add_report(sub) -> None:
    r = sub.add_parser("report", help="re-render report.md/report.html from a run folder (runs nothing)")
    r.add_argument("run_dir")


def _add_history(sub) -> None:
    h = sub.add_parser("history", help="recorded runs per dataset with their verdicts (from any folder: the history "
                       "is in the per-user home)")
    h.add_argument("--home", help=HOME_HELP)
    h.add_argument("--out", help="only runs whose folder is under this folder")
    h.add_argument("--dataset", help="only runs on this dataset")
    h.add_argument("--limit", type=int, default=20)
    h.add_argument("--json", action="store_true")


def _add_diff(sub) -> None:
    df = sub.add_parser("diff", help="what changed between two runs: candidates, metrics (paired on the same split), "
                        "verdict, cost",
                        description="Compare two runs (folders, run ids from `baseline history`, or 'latest'): "
                        "candidates added and removed, each common candidate's headline metric with the paired "
                        "difference and its 95%% CI when both runs share the split, what in its identity changed, "
                        "latency, cost, and the verdict.")
    df.add_argument("run_a", metavar="RUN_A")
    df.add_argument("run_b", metavar="RUN_B")
    df.add_argument("--home", help=HOME_HELP)
    df.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples for the paired CIs (default 1000)")
    df.add_argument("--json", action="store_true")


def _add_gate(sub) -> None:
    g = sub.add_parser("gate", help="go / no-go for CI: exit 0 when a run's verdict and bar hold, 1 otherwise",
                       description="Exit 0 when the run's verdict and bar hold, 1 otherwise, with one line saying why "
                       "(2: bad input). Settings may live under [gate] in baseline.toml (require, candidate, min_metric, "
                       "max_p95_ms, max_cost_per_1k, against, max_drop); flags override them.",
                       epilog="examples:\n  baseline compare --config baseline.toml && baseline gate latest --require adopt\n"
                       "  baseline gate RUN --min-metric 0.8 --against PREVIOUS_RUN --max-drop 0.01",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    g.add_argument("run", metavar="RUN", help="a run folder, a run id from `baseline history`, or 'latest'")
    g.add_argument("--require", choices=["adopt", "choice", "any"],
                   help="adopt: the verdict must be ADOPT; choice (default): it must name a choice (ADOPT or TOO CLOSE "
                   "TO CALL, not PIVOT); any: no verdict requirement")
    g.add_argument("--candidate", help="gate this candidate instead of the run's choice")
    g.add_argument("--min-metric", type=number("--min-metric"),
                   help="the candidate's headline metric must clear this by the verdict's rule: its whole 95%% CI at "
                   "or above it (a CI that straddles it is borderline: no-go)")
    g.add_argument("--max-p95-ms", type=number("--max-p95-ms"), help="the candidate's p95 latency must be at most this")
    g.add_argument("--max-cost-per-1k", type=number("--max-cost-per-1k"), help="its USD per 1,000 predictions must be at most this")
    g.add_argument("--against", metavar="RUN", help="an earlier run (folder, id or 'previous' for the run before RUN on "
                   "the same split): the candidate must not be worse than there by more than --max-drop")
    g.add_argument("--max-drop", type=number("--max-drop"), help="allowed drop in the headline metric against --against "
                   "(default 0)")
    g.add_argument("--dataset", help="with 'latest': the latest run on this dataset")
    g.add_argument("--config", help="path to baseline.toml (default: ./baseline.toml if present)")
    g.add_argument("--home", help=HOME_HELP)


def _add_cleanup(sub) -> None:
    k = sub.add_parser("cleanup", help="delete billable resources that interrupted or killed runs left behind",
                       description="Read the resource ledgers of a run (or of every run in the history) and delete "
                       "whatever is not confirmed deleted: endpoints, custom models, uploaded data. Resources whose "
                       "create call got no answer are found by their tags. Prints what it deleted.")
    k.add_argument("run", nargs="?", help="a run id (from `baseline history`) or run folder; default: every run with leftovers")
    k.add_argument("--home", help=HOME_HELP)
    k.add_argument("--config", help="path to baseline.toml, for adapter settings such as region or profile")
    k.add_argument("--dry-run", action="store_true", help="list the leftovers, delete nothing")
    k.add_argument("--json", action="store_true", help="print what was deleted and what is left as JSON")
