"""Evaluation of a saved acoustic model on held-out utterances: frame error rate against
the alignment targets (at the model's output frames) and phone error rate of the Viterbi
phone decoder (:mod:`sertl.asr.decode`) against the aligned phone sequences, or against
phone transcripts (e.g. TIMIT's manual labels) when there is no alignment."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from sertl.asr.decode import PhoneDecoder, edit_errors
from sertl.models.base import AcousticModel
from sertl.progress import Progress
from sertl.train.data import FrameStore
from sertl.train.evaluate import log_posteriors


@dataclass
class DecodeOptions:
    """Weights of the phone search and the phone folding applied before scoring."""
    acoustic_scale: float = 1.0
    lm_weight: float = 1.0
    insertion_penalty: float = 0.0
    phone_map: dict[str, str] | None = None   # e.g. TIMIT 48 -> 39; unlisted phones kept


@dataclass
class Evaluation:
    """Scores plus the per-utterance phone sequences (after folding)."""
    frames: int
    frame_errors: int
    phones: int
    phone_errors: int
    hyps: dict[str, list[str]]
    refs: dict[str, list[str]]
    utt_frames: dict[str, tuple[int, int]] = field(default_factory=dict)  # (frames, errors)

    def scores(self, utt2spk: dict[str, str] | None = None) -> dict:
        """FER (None without alignments), PER and their counts; with ``utt2spk``, also
        per speaker and their mean, standard deviation, minimum and maximum over the
        speakers (``speakers``)."""
        scores: dict = {"fer": self.frame_errors / self.frames if self.frames else None,
                        "frames": self.frames,
                        "per": self.phone_errors / max(self.phones, 1), "phones": self.phones,
                        "utterances": len(self.hyps)}
        if utt2spk is None:
            return scores
        per_speaker: dict[str, dict[str, float | None]] = {}
        for spk in sorted({utt2spk[u] for u in self.hyps}):
            utts = [u for u in self.hyps if utt2spk[u] == spk]
            frames = sum(self.utt_frames[u][0] for u in utts if u in self.utt_frames)
            errors = sum(self.utt_frames[u][1] for u in utts if u in self.utt_frames)
            phone_errors, phones = edit_errors([self.refs[u] for u in utts],
                                               [self.hyps[u] for u in utts])
            per_speaker[spk] = {"fer": errors / frames if frames else None,
                                "per": phone_errors / max(phones, 1)}
        scores["speakers"] = {
            name: {"mean": float(np.mean(v)), "std": float(np.std(v)), "min": float(min(v)),
                   "max": float(max(v))}
            for name in ("fer", "per")
            if (v := [x[name] for x in per_speaker.values() if x[name] is not None])}
        scores["per_speaker"] = per_speaker
        return scores


def evaluate(model: AcousticModel, decoder: PhoneDecoder, store: FrameStore,
             options: DecodeOptions, device: torch.device,
             ref_text: dict[str, list[str]] | None = None) -> Evaluation:
    """FER (with targets) and PER of ``model`` on every utterance of ``store``, one at a
    time. References are the aligned phones, or ``ref_text`` when the store has no
    targets."""
    topology = decoder.topology
    fold = options.phone_map or {}
    result = Evaluation(0, 0, 0, 0, {}, {})
    progress = Progress(f"evaluating {len(store.utts)} utterances", len(store.utts))
    for i, utt in enumerate(store.utts):
        log_post = log_posteriors(model, store, i, device)
        if store.targets is not None:
            length = int(store.lengths[i])
            targets = store.chunk_targets(np.array([[i, 0]]), length, model.subsampling)[0]
            errors = int((log_post.argmax(axis=1) != targets.numpy()).sum())
            result.frames += len(targets)
            result.frame_errors += errors
            result.utt_frames[utt] = (len(targets), errors)
            o = store.offsets[i]
            ref = [topology.phones[p] for p in
                   topology.phone_sequence(store.targets[o:o + length].numpy())]
        elif ref_text is not None and utt in ref_text:
            ref = ref_text[utt]
        else:
            raise KeyError(f"no reference phones for utterance '{utt}'")
        hyp = decoder.decode(log_post, options.acoustic_scale, options.lm_weight,
                             options.insertion_penalty)
        result.hyps[utt] = [fold.get(topology.phones[p], topology.phones[p]) for p in hyp]
        result.refs[utt] = [fold.get(p, p) for p in ref]
        progress.update()
    progress.finish()
    errors, length = edit_errors(result.refs.values(), result.hyps.values())
    result.phone_errors, result.phones = errors, length
    return result
