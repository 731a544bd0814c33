"""Features of a data dir as training code reads them: CMVN and splicing at load time.

As in Kaldi, feats.scp holds raw features; mean (and optionally variance)
normalisation with the speaker's cmvn.scp statistics and frame splicing are applied
when a matrix is read, so one feature archive serves every normalisation variant.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sertl.features import apply_cmvn, splice
from sertl.io import TableError, load_matrix, load_vector, read_scp, read_table


@dataclass(frozen=True)
class LoadOptions:
    """How features are normalised and spliced when read."""
    apply_cmvn: bool = True
    norm_vars: bool = False
    left_context: int = 0
    right_context: int = 0


class FeatureReader:
    """Random access to the (normalised, spliced) features of a data dir by utterance."""

    def __init__(self, data_dir: str | Path, options: LoadOptions = LoadOptions()):
        self.data_dir = Path(data_dir)
        self.options = options
        self.feats = read_scp(self.data_dir / "feats.scp")
        self.utt2spk = read_table(self.data_dir / "utt2spk")
        self.cmvn: dict[str, np.ndarray] = {}
        if options.apply_cmvn:
            cmvn_scp = self.data_dir / "cmvn.scp"
            if not cmvn_scp.exists():
                raise TableError(f"{cmvn_scp}: missing (run steps/compute_cmvn_stats.sh, "
                                 f"with --fake for no normalisation)")
            self.cmvn = {spk: load_matrix(rx) for spk, rx in read_scp(cmvn_scp).items()}
        vad_scp = self.data_dir / "vad.scp"
        self.vad = read_scp(vad_scp) if vad_scp.exists() else {}

    def utterances(self) -> list[str]:
        return list(self.feats)

    def __getitem__(self, utt: str) -> np.ndarray:
        if utt not in self.feats:
            raise KeyError(f"{self.data_dir}/feats.scp: no utterance '{utt}'")
        feats = load_matrix(self.feats[utt])
        o = self.options
        if o.apply_cmvn:
            spk = self.utt2spk.get(utt)
            if spk not in self.cmvn:
                raise TableError(f"{self.data_dir}/cmvn.scp: no stats for speaker '{spk}' "
                                 f"of utterance '{utt}'")
            feats = apply_cmvn(feats, self.cmvn[spk], o.norm_vars)
        if o.left_context or o.right_context:
            feats = splice(feats, o.left_context, o.right_context)
        return feats

    def voiced(self, utt: str) -> np.ndarray:
        """The VAD decision (1 = voiced) of an utterance, from vad.scp."""
        if utt not in self.vad:
            raise KeyError(f"{self.data_dir}/vad.scp: no utterance '{utt}'")
        return load_vector(self.vad[utt])
