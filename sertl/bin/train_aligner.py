"""One training iteration of steps/align_sb.sh: new frame classifiers for an alignment.

Usage: python -m sertl.bin.train_aligner [options] <data-dir> <lang-dir> <ali-scp> <out-model>
  --config FILE       aligner YAML config (default: built-in defaults)
  --num-states N      HMM states per phone (default 3)
  --iteration K       iteration number: stored in the model, seeds the initialisation and
                      the frame order, named in the log lines
  --num-folds K       cross-fitted classifiers, replacing the config's num_folds (1: one
                      classifier for every utterance, e.g. the final model)
  --device DEV        torch device (default: cuda when available)

<ali-scp> holds per utterance the int32 target of every frame (from align_flat_start or
align_frames). With num_folds = k in the config, k classifiers are trained from a random
initialisation, classifier f on the utterances outside fold f, so that every training
utterance can be realigned by a classifier that has never seen it (see
sertl.align.model); each classifier's frame accuracy is measured on its fold. With one
classifier, 1 in 20 utterances is held out for that. The target priors are those of the
whole alignment. The log ends with the line "iteration K: loss L, frame accuracy A% on
the training frames, H% on held-out utterances" (averages over the folds).
"""
from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import replace
from pathlib import Path

import kaldi_io
import numpy as np

from sertl.align import AlignError
from sertl.align.classifier import NonFiniteLoss
from sertl.align.lang import Lang, LangError
from sertl.align.model import AlignConfig, lang_topology, load_align_config, train_model
from sertl.bin.common import add_device_option, choose_device
from sertl.config import ConfigError
from sertl.data import FeatureReader, LoadOptions
from sertl.io import TableError, read_scp

PROG = "train_aligner"


def _training_data(data_dir: Path, ali_scp: Path, config: AlignConfig, num_targets: int
                   ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Features and targets of the aligned utterances of ``data_dir``."""
    reader = FeatureReader(data_dir, LoadOptions(apply_cmvn=True, norm_vars=config.norm_vars))
    ali = read_scp(ali_scp)
    data = {}
    for utt in reader.utterances():
        if utt not in ali:
            continue
        feats = reader[utt]
        targets = kaldi_io.read_vec_int(ali[utt]).astype(np.int64)
        if len(targets) != len(feats):
            raise AlignError(f"{ali_scp}: utterance '{utt}' has {len(targets)} targets for "
                             f"{len(feats)} frames")
        if targets.min() < 0 or targets.max() >= num_targets:
            raise AlignError(f"{ali_scp}: utterance '{utt}' has targets outside "
                             f"[0, {num_targets}) (another lang dir or number of states?)")
        data[utt] = feats, targets
    if not data:
        raise AlignError(f"{ali_scp}: no utterance of {data_dir}/feats.scp is aligned")
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path)
    parser.add_argument("--num-states", type=int, default=3)
    parser.add_argument("--iteration", type=int, default=1)
    parser.add_argument("--num-folds", type=int)
    add_device_option(parser)
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("lang_dir", type=Path)
    parser.add_argument("ali_scp", type=Path)
    parser.add_argument("out_model", type=Path)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format=f"{PROG}: %(message)s")
    device = choose_device(args.device)
    try:
        config = load_align_config(args.config)
        if args.num_folds is not None:
            config = replace(config, num_folds=args.num_folds)
        topo = lang_topology(Lang.load(args.lang_dir), args.num_states)
        data = _training_data(args.data_dir, args.ali_scp, config, topo.num_targets)
        logging.info("iteration %d: %d utterances, %d targets, %d folds, on %s",
                     args.iteration, len(data), topo.num_targets, config.num_folds, device)
        model = train_model(topo, config, data, args.iteration, device)
        model.save(args.out_model)
    except (AlignError, ConfigError, LangError, NonFiniteLoss, TableError, KeyError,
            OSError) as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1
    stats = model.train_stats
    heldout = [s.heldout_accuracy for s in stats if s.heldout_accuracy is not None]
    logging.info("iteration %d: loss %.4f, frame accuracy %.2f%% on the training frames, %s",
                 args.iteration, np.mean([s.loss for s in stats]),
                 100 * np.mean([s.accuracy for s in stats]),
                 f"{100 * np.mean(heldout):.2f}% on held-out utterances" if heldout
                 else "no held-out utterances")
    return 0


if __name__ == "__main__":
    sys.exit(main())
