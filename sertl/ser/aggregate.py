"""Frame-to-utterance aggregation: one score per emotion class from frame log posteriors.

A SER model labels frames; an utterance's label comes from its frames' posteriors by one
of three rules (hyp = argmax of the scores under every rule):

- ``sum_posteriors`` (Zhou & Beigi): the posteriors summed over the frames, divided by
  the number of frames so that scores compare across utterances (the mean posterior).
- ``mean_log_posterior``: the mean of the frames' log posteriors (a product of frame
  likelihood ratios, as if frames were independent).
- ``majority``: each frame votes for its most probable class; the score is the vote
  share, where the mean posterior counts as one extra vote split across the classes:
  ``(votes + mean posterior) / (frames + 1)``. Since votes are whole numbers and the
  mean posteriors lie in [0, 1], that orders classes as the votes do, and a tie in votes
  goes to the class with the larger summed posterior; classes tied in both go to the
  lower class id. The scores still sum to 1.

Only voiced frames count (all frames when the VAD marks none voiced), and only the
emotion columns: a silence class's column is dropped and the rest renormalised per
frame, so that a frame's emotion posteriors sum to 1.
"""
from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

RULES = ("sum_posteriors", "mean_log_posterior", "majority")


def emotion_log_posteriors(log_post: np.ndarray, num_emotions: int) -> np.ndarray:
    """The first ``num_emotions`` columns of ``log_post``, renormalised per frame."""
    if log_post.ndim != 2 or not 0 < num_emotions <= log_post.shape[1]:
        raise ValueError(f"log posteriors of shape {log_post.shape} do not hold "
                         f"{num_emotions} emotion columns")
    emotions = log_post[:, :num_emotions].astype(np.float64)
    return emotions - logsumexp(emotions, axis=1, keepdims=True)


def counted_frames(log_post: np.ndarray, voiced: np.ndarray) -> np.ndarray:
    """The rows of ``log_post`` marked voiced; all rows when none is voiced."""
    if voiced.shape != (len(log_post),):
        raise ValueError(f"{len(voiced)} voicing decisions for {len(log_post)} frames")
    if len(log_post) == 0:
        raise ValueError("no frames to aggregate")
    voiced = voiced.astype(bool)
    return log_post[voiced] if voiced.any() else log_post


def utterance_scores(log_post: np.ndarray, voiced: np.ndarray, rule: str,
                     num_emotions: int) -> np.ndarray:
    """Scores (num_emotions,) of one utterance from its (N, C) frame log posteriors."""
    if rule not in RULES:
        raise ValueError(f"unknown aggregation rule '{rule}' (known: {', '.join(RULES)})")
    frames = emotion_log_posteriors(counted_frames(log_post, voiced), num_emotions)
    if rule == "mean_log_posterior":
        return frames.mean(axis=0)
    mean_posterior = np.exp(frames).mean(axis=0)
    if rule == "sum_posteriors":
        return mean_posterior
    votes = np.bincount(frames.argmax(axis=1), minlength=num_emotions)
    return (votes + mean_posterior) / (len(frames) + 1)
