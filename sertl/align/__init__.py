"""Forced alignment: transcripts to per-frame HMM-state targets.

:mod:`sertl.align.lang` (dict and lang dirs, lexicon), :mod:`sertl.align.topology` (the
phone x state target numbering, shared with the phone decoder of :mod:`sertl.asr`),
:mod:`sertl.align.graph` (utterance HMM graphs, flat start, Viterbi search, CTM),
:mod:`sertl.align.classifier` (the frame classifiers that score the emissions),
:mod:`sertl.align.model` (the aligner model: cross-fitted classifiers, training,
alignment of utterances), :mod:`sertl.align.alidir` (alignment dirs of steps/align_sb.sh).
"""


class AlignError(ValueError):
    """An utterance or model that cannot be aligned; the message names it."""
