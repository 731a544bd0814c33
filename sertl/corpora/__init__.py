"""Data preparation of speech corpora into Kaldi data dirs and dict dirs (egs/*/s5/local)."""
