"""openSMILE functionals: one vector of acoustic statistics per utterance.

The classical SER baseline (the ComParE 2016 set, 6373 functionals of low-level
descriptors, and eGeMAPS v02, 88) computed by the ``opensmile`` package, whose feature
sets are the ones of the openSMILE 3 release. Audio is read as every other feature is
(``sertl.audio``: resampled to the rate given, mono), at the 16-bit sample scale as Kaldi
reads it; openSMILE takes samples in [-1, 1], so they are divided by 32768 first.
"""
from __future__ import annotations

import numpy as np

INT16_SCALE = 32768.0
FEATURE_SETS = {"ComParE_2016": "ComParE_2016", "eGeMAPSv02": "eGeMAPSv02"}


class FunctionalsExtractor:
    """Samples -> (1, D) float32 functionals of one openSMILE feature set."""

    def __init__(self, feature_set: str, sample_rate: int = 16000) -> None:
        import opensmile  # only the functionals steps need it

        if feature_set not in FEATURE_SETS:
            raise ValueError(f"unknown openSMILE feature set '{feature_set}' "
                             f"(known: {', '.join(FEATURE_SETS)})")
        self.smile = opensmile.Smile(feature_set=opensmile.FeatureSet[feature_set],
                                     feature_level=opensmile.FeatureLevel.Functionals)
        self.sample_rate = sample_rate
        self.names = list(self.smile.feature_names)

    def __call__(self, samples: np.ndarray) -> np.ndarray:
        values = self.smile.process_signal((samples / INT16_SCALE).astype(np.float32),
                                           self.sample_rate)
        row = values.to_numpy(dtype=np.float32).reshape(1, -1)
        if row.shape[1] != len(self.names):
            raise ValueError(f"openSMILE gave {row.shape[1]} functionals, expected "
                             f"{len(self.names)}")
        return row
