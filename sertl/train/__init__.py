"""Frame-level training of acoustic models on alignment targets (ASR pretraining).

:mod:`sertl.train.config` (the YAML experiment config), :mod:`sertl.train.data` (chunks
with context cut from in-memory features, a resumable sampler), :mod:`sertl.train.schedule`
(learning-rate and dropout schedules), :mod:`sertl.train.metrics` (metrics.jsonl and
TensorBoard event files), :mod:`sertl.train.loop` (training, validation, checkpoints,
DDP, mixed precision).
"""
