"""sertl: speech emotion recognition by transfer learning, Kaldi-style."""
import os

# kaldi-io warns on import when KALDI_ROOT does not exist; sertl needs no Kaldi install
# (kaldi-io only uses it to find Kaldi binaries for piped rxfilenames).
if not os.path.isdir(os.environ.get("KALDI_ROOT", "")):
    os.environ["KALDI_ROOT"] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
