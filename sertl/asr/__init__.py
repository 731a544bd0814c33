"""ASR pretraining: acoustic models trained on alignment targets, and their evaluation.

:mod:`sertl.asr.train` (the acoustic-model trainer on the generic loop of
:mod:`sertl.train.loop`: alignment dirs in, final.pt with its phone decoder out),
:mod:`sertl.asr.decode` (Viterbi phone decoder, edit distance), :mod:`sertl.asr.evaluate`
(frame and phone error rates of a saved model).
"""
