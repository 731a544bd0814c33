"""Speech emotion recognition by transfer learning: a pretrained acoustic model cut at a
named layer with a new frame classifier (``model``), fine-tuned on frames that carry
their utterance's emotion (``config``, ``train``), frame posteriors of the result
(``infer``), and their aggregation to utterance decisions and scoring by fold."""
