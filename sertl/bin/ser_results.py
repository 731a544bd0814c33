"""Cross-validation results of a SER experiment, and the table of several experiments.

Usage: python -m sertl.bin.ser_results [--command CMD] results [--rule RULE] <exp-dir>
       python -m sertl.bin.ser_results [--command CMD] ablations [--reference REF] <out.md>
           <exp-dir>...

results: <exp-dir> is a steps/eval_ser.sh dir: its ``folds`` file lists the folds and
fold_<f>/test/scores_<rule>.txt their scores, for the rules that the system scores (all
three aggregation rules for a network, ``utterance`` for an SVM; every fold must have the
same ones). Writes to
<exp-dir>: results.json (per fold, mean and standard deviation over folds, and pooled
over folds, for every rule), results.md (tables for RULE, by default the aggregation of
<exp-dir>/config.yaml, and the other rules' means), confusion.txt and confusion.png
(pooled over folds, for RULE; for two classes also roc.png, the ROC curve). CMD is the
command line to record (default: this one).

ablations: one markdown table, a row per <exp-dir> (its results.json), of UA, WA and
macro-F1 mean and standard deviation for its rule, plus pooled UA; with --reference REF
(repeatable), each row's UA difference to REF paired over folds (mean ± std, folds
better, paired t-test).
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import Sequence

import numpy as np
from scipy.stats import ttest_rel

from sertl.config import ConfigError
from sertl.io import TableError, atomic_open, read_table
from sertl.ser.aggregate import RULES
from sertl.ser.roc import plot_roc
from sertl.ser.soundnet import RULES as WINDOW_RULES
from sertl.ser.system import load_system_config, reported_rule
from sertl.ser.metrics import (NO_LABEL, UtteranceScores, compute_metrics, format_confusion,
                               plot_confusion, pool_scores, read_scores, summarize_folds)

STD_NOTE = "sample standard deviation over folds (n - 1)"
UA_NOTE = ("UA and macro-F1 average over the classes present in each fold's test set; "
           "a class absent from a fold has no recall there")


def percent(value: float | None) -> str:
    """A fraction as a percentage with one decimal; ``-`` for None."""
    return "-" if value is None else f"{100 * value:.1f}"


def mean_pm_std(entry: dict) -> str:
    """``mean ± std`` in percent (the mean alone when there is no std)."""
    if entry["std"] is None:
        return percent(entry["mean"])
    return f"{percent(entry['mean'])} ± {percent(entry['std'])}"


def fold_scores(exp_dir: Path, folds: Sequence[str], rule: str
                ) -> dict[str, UtteranceScores]:
    """The test scores of every fold under one rule."""
    tables = {}
    for fold in folds:
        path = exp_dir / f"fold_{fold}" / "test" / f"scores_{rule}.txt"
        if not path.is_file():
            raise ValueError(f"fold '{fold}' has not been scored: no {path}")
        tables[fold] = read_scores(path)
    return tables


def rule_results(exp_dir: Path, folds: Sequence[str], rule: str) -> dict:
    """Per-fold, summary and pooled metrics of one rule."""
    tables = fold_scores(exp_dir, folds, rule)
    per_fold = {fold: compute_metrics(table) for fold, table in tables.items()}
    return {"per_fold": per_fold, "summary": summarize_folds(list(per_fold.values())),
            "pooled": compute_metrics(pool_scores(list(tables.values())))}


def scored_rules(exp_dir: Path, fold: str) -> list[str]:
    """The rules a fold's test part was scored by (its scores_<rule>.txt files)."""
    test_dir = exp_dir / f"fold_{fold}" / "test"
    rules = sorted(p.stem[len("scores_"):] for p in test_dir.glob("scores_*.txt"))
    if not rules:
        raise ValueError(f"fold '{fold}' has not been scored: no {test_dir}/scores_*.txt")
    return rules


def collect_results(exp_dir: Path, rule: str, command: str) -> dict:
    """Everything results.json holds, from the scores of every fold and rule."""
    folds = list(read_table(exp_dir / "folds"))
    scored = scored_rules(exp_dir, folds[0])
    if rule not in scored:
        raise ValueError(f"{exp_dir}: rule '{rule}' was not scored (scored: {' '.join(scored)})")
    rules = {r: rule_results(exp_dir, folds, r) for r in scored}
    pooled = rules[rule]["pooled"]
    return {"rule": rule, "classes": list(pooled["per_class_recall"]), "folds": folds,
            "std": STD_NOTE, "command": command, "rules": rules}


def fold_table(results: dict) -> list[str]:
    """Markdown rows: one per fold, mean ± std, pooled; AUROC for two classes."""
    binary = len(results["classes"]) == 2
    names = ["ua", "wa", "macro_f1"] + (["auroc"] if binary else [])
    header = "| fold | utterances | UA % | WA % | macro-F1 % |"
    lines = [header + (" AUROC % |" if binary else ""), "|" + "---|" * (len(names) + 2)]
    chosen = results["rules"][results["rule"]]
    for fold, m in chosen["per_fold"].items():
        lines.append(f"| {fold} | {m['utterances']} | "
                     + " | ".join(percent(m[n]) for n in names) + " |")
    lines.append("| mean ± std | | "
                 + " | ".join(mean_pm_std(chosen["summary"][n]) for n in names) + " |")
    pooled = chosen["pooled"]
    lines.append(f"| pooled | {pooled['utterances']} | "
                 + " | ".join(percent(pooled[n]) for n in names) + " |")
    return lines


def rules_table(results: dict) -> list[str]:
    """Markdown rows: mean ± std of UA, WA, macro-F1 and pooled UA per rule."""
    lines = ["| rule | UA % | WA % | macro-F1 % | pooled UA % |", "|---|---|---|---|---|"]
    for rule, r in results["rules"].items():
        mark = " (reported)" if rule == results["rule"] else ""
        lines.append(f"| {rule}{mark} | " + " | ".join(
            mean_pm_std(r["summary"][n]) for n in ("ua", "wa", "macro_f1"))
            + f" | {percent(r['pooled']['ua'])} |")
    return lines


def class_table(results: dict) -> list[str]:
    """Markdown rows: per-class recall, mean ± std over the folds holding the class."""
    chosen = results["rules"][results["rule"]]
    lines = ["| class | folds with it | recall % (mean ± std) | pooled recall % |",
             "|---|---|---|---|"]
    for cls in results["classes"]:
        entry = chosen["summary"]["per_class_recall"][cls]
        lines.append(f"| {cls} | {entry['folds']} | {mean_pm_std(entry)} | "
                     f"{percent(chosen['pooled']['per_class_recall'][cls])} |")
    return lines


def results_markdown(exp_dir: Path, results: dict, confusion_text: str) -> str:
    """The text of results.md."""
    rule = results["rule"]
    parts = [
        f"# SER cross-validation: {exp_dir}", "",
        f"Command: `{results['command']}`", "",
        f"{len(results['folds'])} folds; aggregation rule: {rule}. "
        f"± is the {results['std']}. {UA_NOTE}.", "",
        f"## Per fold ({rule})", "", *fold_table(results), "",
        "## Aggregation rules (mean ± std over folds)", "", *rules_table(results), "",
        f"## Per-class recall ({rule})", "", *class_table(results), "",
        f"## Confusion matrix ({rule}, pooled over folds; rows: reference)", "",
        "```", confusion_text.rstrip("\n"), "```", "",
        "Also in confusion.txt and confusion.png.", "",
    ]
    return "\n".join(parts)


def write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (a killed run leaves no half table)."""
    with atomic_open(path, encoding="utf-8") as f:
        f.write(text)


def write_results(exp_dir: Path, results: dict) -> None:
    """results.json, results.md, confusion.txt, confusion.png and, for two classes,
    roc.png in ``exp_dir``."""
    pooled = results["rules"][results["rule"]]["pooled"]
    confusion_text = format_confusion(pooled["confusion"], results["classes"])
    write_text(exp_dir / "results.json", json.dumps(results, indent=1) + "\n")
    write_text(exp_dir / "confusion.txt", confusion_text)
    plot_confusion(pooled["confusion"], results["classes"], exp_dir / "confusion.png",
                   f"{exp_dir.name}: {results['rule']}")
    if pooled["auroc"] is not None:  # two classes: the detector's ROC, pooled over folds
        tables = fold_scores(exp_dir, results["folds"], results["rule"])
        table = pool_scores(list(tables.values()))
        labelled = [i for i, ref in enumerate(table.refs) if ref != NO_LABEL]
        plot_roc([table.refs[i] == table.classes[1] for i in labelled],
                 table.scores[labelled, 1] - table.scores[labelled, 0], exp_dir / "roc.png",
                 f"{exp_dir.name}: {table.classes[1]} ({results['rule']})")
    write_text(exp_dir / "results.md", results_markdown(exp_dir, results, confusion_text))


def load_results(exp_dir: Path) -> dict:
    """An experiment's results.json."""
    path = exp_dir / "results.json"
    if not path.is_file():
        raise ValueError(f"{path}: missing (has steps/eval_ser.sh finished?)")
    return json.loads(path.read_text(encoding="utf-8"))


def fold_ua(results: dict) -> dict[str, float]:
    """UA per fold under the experiment's reported rule."""
    return {fold: m["ua"] for fold, m in results["rules"][results["rule"]]["per_fold"].items()}


def paired_difference(results: dict, reference: dict, name: str) -> str:
    """``Δ mean ± std (wins/folds, p)`` of UA against the reference, paired over folds
    (p: two-sided paired t-test); the folds must be the same."""
    ua, ref = fold_ua(results), fold_ua(reference)
    if ua.keys() != ref.keys():
        raise ValueError(f"{name}: its folds differ from the reference's; paired "
                         "differences need the same folds")
    diff = np.array([ua[f] - ref[f] for f in ref])
    wins = int((diff > 0).sum())
    spread = f" ± {percent(float(diff.std(ddof=1)))}" if len(diff) > 1 else ""
    p = f", p {ttest_rel(list(ua.values()), [ref[f] for f in ua]).pvalue:.3f}" \
        if len(diff) > 1 else ""
    return f"{100 * diff.mean():+.1f}{spread} ({wins}/{len(diff)} folds better{p})"


def ablations_markdown(exp_dirs: Sequence[Path], command: str,
                       references: Sequence[Path] = ()) -> str:
    """The text of the table of several experiments: one row per results.json, with a
    column per reference of the UA difference to it, paired over folds."""
    ref_results = [load_results(ref) for ref in references]
    all_results = [load_results(exp_dir) for exp_dir in exp_dirs]
    chosen_rules = [results["rules"][results["rule"]] for results in all_results]
    # detectors (two classes): their AUROC, mean ± std over folds and pooled, too
    binary = all(chosen["pooled"].get("auroc") is not None for chosen in chosen_rules)
    paired = "".join(f" ΔUA vs {ref.name} |" for ref in references)
    lines = ["# SER systems", "", f"Command: `{command}`", "",
             f"Mean ± {STD_NOTE}; pooled: over all folds' utterances. {UA_NOTE}."
             + (" ΔUA: the per-fold difference to a reference system (mean ± std over "
                "folds), the folds it is better on and a two-sided paired t-test."
                if references else ""),
             "", "| system | rule | folds | UA % | WA % | macro-F1 % | pooled UA % |"
             + (" AUROC % | pooled AUROC % |" if binary else "") + paired,
             "|---|---|---|---|---|---|---|" + "---|" * (2 * binary + len(references))]
    for exp_dir, results, chosen in zip(exp_dirs, all_results, chosen_rules):
        row = (f"| {exp_dir.name} | {results['rule']} | {len(results['folds'])} | "
               + " | ".join(mean_pm_std(chosen["summary"][n]) for n in ("ua", "wa", "macro_f1"))
               + f" | {percent(chosen['pooled']['ua'])} |")
        if binary:
            row += (f" {mean_pm_std(chosen['summary']['auroc'])} |"
                    f" {percent(chosen['pooled']['auroc'])} |")
        for ref, ref_result in zip(references, ref_results):
            row += (" reference |" if exp_dir.resolve() == ref.resolve() else
                    f" {paired_difference(results, ref_result, exp_dir.name)} |")
        lines.append(row)
    return "\n".join(lines) + "\n"


def configured_rule(exp_dir: Path) -> str:
    """The rule ``<exp_dir>/config.yaml`` reports."""
    return reported_rule(load_system_config(exp_dir / "config.yaml"))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--command", default="python -m sertl.bin.ser_results "
                        + shlex.join(argv), help="command line to record")
    tools = parser.add_subparsers(dest="tool", required=True)
    results = tools.add_parser("results", help="results of one eval_ser.sh dir")
    results.add_argument("--rule", choices=RULES + ("utterance",) + WINDOW_RULES,
                         help="default: the config's aggregation")
    results.add_argument("exp_dir", type=Path)
    ablations = tools.add_parser("ablations", help="one table of several experiments")
    ablations.add_argument("--reference", type=Path, action="append", default=[],
                           help="exp dir the others are compared with, paired over folds "
                                "(repeat for several)")
    ablations.add_argument("out", type=Path)
    ablations.add_argument("exp_dirs", type=Path, nargs="+")
    args = parser.parse_args(argv)
    try:
        if args.tool == "results":
            rule = args.rule or configured_rule(args.exp_dir)
            write_results(args.exp_dir, collect_results(args.exp_dir, rule, args.command))
            print(f"ser_results: wrote {args.exp_dir}/results.md", file=sys.stderr)
        else:
            write_text(args.out, ablations_markdown(args.exp_dirs, args.command, args.reference))
            print(f"ser_results: wrote {args.out}", file=sys.stderr)
    except (ConfigError, TableError, OSError, ValueError) as e:
        print(f"ser_results: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
