"""I-vector extraction as in Kaldi's nnet2/nnet3 online recipes: a diagonal UBM, a
total-variability extractor trained by EM, online and utterance i-vectors, in PyTorch.

Modules: ``gmm`` (UBM), ``extractor`` (model, statistics, EM update), ``online``
(ivector-extract-online2), ``utterance`` (utterance and speaker i-vectors), ``frames``
(which features and frames), ``store`` (files), ``cli`` (shared command-line pieces).
Step scripts: steps/train_diag_ubm.sh, steps/train_ivector_extractor.sh,
steps/extract_ivectors_online.sh, steps/extract_ivectors.sh.

Differences from Kaldi, on purpose: the UBM and the extractor see the plain features
of the data dir with cmvn.scp applied (no splicing, LDA+MLLT or online CMVN); the
UBM's Gaussian selection is recomputed from 0.ubm in each iteration instead of being
stored; online i-vectors are solved exactly rather than by warm-started conjugate
gradient; there is no ``--max-count``.

File formats
------------
All files are numpy ``.npz`` archives (see ``store``): arrays plus ``__meta__``, a JSON
string ``{"kind", "version": 1, "options"}``; ``numpy.load`` reads them without sertl.
C = Gaussians, D = feature dim, R = i-vector dim.

``<ubm-dir>/<n>.ubm``, ``final.ubm`` -- kind ``diag-ubm``:
    weights (C,), means (C, D), variances (C, D), float32.
    options: norm_means, norm_vars (how cmvn.scp is applied to the features).

``<extractor-dir>/<n>.ie``, ``final.ie`` -- kind ``ivector-extractor``:
    M (C, D, R), sigma_inv (C, D, D) (inverse full covariances), prior_offset (),
    float64; ubm_weights, ubm_means, ubm_variances: the diagonal UBM that gives the frame
    posteriors, float32. The i-vector prior is N(prior_offset e_1, I) and the mean of
    Gaussian c given i-vector w is M[c] @ w (no separate UBM means: e_1 carries them).
    options: norm_means, norm_vars, num_gselect, min_post, posterior_scale.

``<dir>/<n>.<job>.acc`` -- kinds ``diag-ubm-stats`` and ``ivector-extractor-stats``:
    one job's statistics of iteration n, summed by the update and then deleted.

I-vector outputs are Kaldi ark/scp (float32): ``ivector_online.scp`` one (ceil(T/period),
R) matrix per utterance with the period in ``ivector_period``; ``ivector.scp`` and
``spk_ivector.scp`` one R-vector per utterance / speaker. As in Kaldi, the prior offset
is subtracted from dimension 1 of every i-vector.
"""
