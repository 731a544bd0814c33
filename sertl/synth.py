"""Offline speech synthesis with eSpeak NG, with the phone timing the synthesizer used.

Tests and the default recipe need speech whose phones and their times are known
exactly. eSpeak NG (from the ``espeakng-loader`` wheel, through ctypes: no system
install, no subprocess) reports a PHONEME event at the sample where each phone starts,
so every utterance comes with a ground-truth phone alignment.

Phone symbols are eSpeak's ASCII mnemonics (``aI``, ``tS``, ``@2`` ...) without stress
marks, as ASR lexicons usually keep stress out of the phone set; pauses are ``sil``.
``phonemize`` gives the same symbols from the text, for a lexicon.

libespeak-ng keeps its state in globals, so there is one synthesizer per process:
``ESpeakSynthesizer()`` always returns the same object, and its calls are serialized.
"""
from __future__ import annotations

import ctypes
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from sertl.audio import resample

SILENCE = "sil"
STRESS_MARKS = "',%="  # eSpeak's stress prefixes; not part of the phone
NON_SEGMENTAL = frozenset({";"})  # modifiers eSpeak reports as phonemes of no duration
LINKING = frozenset({"r-"})  # sounds joining a word to the next; they belong to the first

# speak_lib.h values (API revision 12)
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_PHONEME_EVENTS = 0x0001
_CHARS_UTF8 = 1
_POS_CHARACTER = 1
_EVENT_LIST_TERMINATED = 0
_EVENT_WORD = 1
_EVENT_PHONEME = 7
_PARAM_RATE, _PARAM_VOLUME, _PARAM_PITCH, _PARAM_RANGE = 1, 2, 3, 4
_EE_OK = 0
_PHONEME_SEPARATOR = "_"


class SynthesisError(RuntimeError):
    """eSpeak NG cannot be loaded or refuses a request; the message says which."""


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int),
                ("name", ctypes.c_char_p),
                ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    """``espeak_EVENT``: six 32-bit ints, then a pointer and the union, both 8-aligned."""
    _fields_ = [("type", ctypes.c_int),
                ("unique_identifier", ctypes.c_uint),
                ("text_position", ctypes.c_int),
                ("length", ctypes.c_int),
                ("audio_position", ctypes.c_int),
                ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p),
                ("id", _EventId)]


_SynthCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                                  ctypes.POINTER(_Event))


class Phone(NamedTuple):
    """One phone (or ``sil``) and its time span in seconds."""
    symbol: str
    start: float
    end: float


class Word(NamedTuple):
    """A word as eSpeak spoke it: its text and the span of its phones in seconds.

    eSpeak speaks some word pairs as one unit ("in the", "of the"); such a pair is one
    Word whose text holds both words.
    """
    text: str
    start: float
    end: float


@dataclass(frozen=True)
class Synthesis:
    """Synthesized speech: float32 mono samples in [-1, 1] and its phone alignment.

    ``phones`` tile the audio: each phone ends where the next starts, the first starts at
    0 and the last ends at the end of the audio.
    """
    samples: np.ndarray
    sample_rate: int
    phones: list[Phone]
    words: list[Word]

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate

    def word_phones(self, word: Word) -> list[str]:
        """The phone symbols spoken within ``word``."""
        return [p.symbol for p in self.phones
                if p.start >= word.start and p.end <= word.end and p.symbol != SILENCE]


class _RawPhone(NamedTuple):
    """A PHONEME event: normalized symbol, start sample, index of its WORD event."""
    symbol: str
    sample: int
    word: int | None


def normalize_symbol(mnemonic: str) -> str:
    """eSpeak mnemonic -> phone symbol: stress marks dropped, pauses as ``sil``."""
    if mnemonic.startswith("_"):
        return SILENCE
    return mnemonic.lstrip(STRESS_MARKS)


def _segments(raw: list[_RawPhone], num_samples: int) -> list[_RawPhone]:
    """The phones that tile [0, num_samples), each lasting until the next one starts.

    Non-segmental modifiers and phones of no duration are dropped (their time, if any,
    goes to the phone before), runs of pauses are merged, and time before the first
    phone becomes a pause.
    """
    kept = [p for p in raw if p.symbol not in NON_SEGMENTAL and p.sample < num_samples]
    if not kept or kept[0].sample > 0:
        kept.insert(0, _RawPhone(SILENCE, 0, None))
    kept = [p for p, nxt in zip(kept, kept[1:] + [_RawPhone("", num_samples, None)])
            if nxt.sample > p.sample]
    merged: list[_RawPhone] = []
    for p in kept:
        if not (merged and p.symbol == SILENCE and merged[-1].symbol == SILENCE):
            merged.append(p)
    return merged


def _word_text(text: str, starts: list[int], index: int) -> str:
    """Text of word ``index`` (0-based char starts): up to the next word, punctuation off."""
    end = starts[index + 1] if index + 1 < len(starts) else len(text)
    return " ".join(w.strip(".,;:!?\"()[]") for w in text[starts[index]:end].split()).strip()


class ESpeakSynthesizer:
    """The process's eSpeak NG instance (a guarded singleton: the library is global)."""

    _instance: ESpeakSynthesizer | None = None
    _instance_lock = threading.Lock()

    def __new__(cls) -> ESpeakSynthesizer:
        with cls._instance_lock:
            if cls._instance is None:
                instance = super().__new__(cls)
                instance._load()
                cls._instance = instance
            return cls._instance

    def _load(self) -> None:
        try:
            import espeakng_loader
            lib_path = espeakng_loader.get_library_path()
            self.data_path = espeakng_loader.get_data_path()
            self._lib = ctypes.CDLL(lib_path)
        except (ImportError, OSError, RuntimeError) as e:
            raise SynthesisError(f"cannot load eSpeak NG (package espeakng-loader): {e}") from e
        lib = self._lib
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p,
                                          ctypes.c_int]
        lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint,
                                     ctypes.c_int, ctypes.c_uint, ctypes.c_uint,
                                     ctypes.c_void_p, ctypes.c_void_p]
        lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_int,
                                              ctypes.c_int]
        lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
        self.native_rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0,
                                                 self.data_path.encode(),
                                                 _INITIALIZE_PHONEME_EVENTS)
        if self.native_rate <= 0:
            raise SynthesisError(f"espeak_Initialize failed with data path {self.data_path}")
        self._chunks: list[np.ndarray] = []
        self._events: list[tuple[int, int, int, str]] = []
        self._callback = _SynthCallback(self._on_synth)  # kept alive: the library holds it
        lib.espeak_SetSynthCallback(self._callback)
        self._lock = threading.Lock()
        self._voice: str | None = None

    def _on_synth(self, wav: ctypes.POINTER(ctypes.c_short), num_samples: int,
                  events: ctypes.POINTER(_Event)) -> int:
        """Collect one buffer of audio and its events; 0 = go on."""
        if wav and num_samples > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, (num_samples,)).copy())
        i = 0
        while events[i].type != _EVENT_LIST_TERMINATED:
            e = events[i]
            if e.type == _EVENT_PHONEME:
                self._events.append((e.type, e.sample, e.text_position,
                                     e.id.string.decode("utf-8", errors="replace")))
            elif e.type == _EVENT_WORD:
                self._events.append((e.type, e.sample, e.text_position, ""))
            i += 1
        return 0

    def _set_voice(self, voice: str) -> None:
        if voice != self._voice:
            if self._lib.espeak_SetVoiceByName(voice.encode()) != _EE_OK:
                raise SynthesisError(f"unknown eSpeak voice '{voice}' (see "
                                     f"{Path(self.data_path) / 'voices'} and 'lang')")
            self._voice = voice

    def _set_parameter(self, name: str, param: int, value: int, low: int, high: int) -> None:
        if not low <= value <= high:
            raise ValueError(f"{name}={value} is outside eSpeak's range [{low}, {high}]")
        if self._lib.espeak_SetParameter(param, value, 0) != _EE_OK:
            raise SynthesisError(f"espeak_SetParameter({name}={value}) failed")

    def synthesize(self, text: str, *, voice: str = "en-us", rate: int = 175, pitch: int = 50,
                   pitch_range: int = 50, volume: int = 100,
                   sample_rate: int = 16000) -> Synthesis:
        """Speak ``text`` and return its audio at ``sample_rate`` with phone and word times.

        ``voice`` is an eSpeak voice name, optionally with a variant ("en-us+f2");
        ``rate`` is in words per minute (80-450), ``pitch`` and ``pitch_range`` 0-100
        (50 = the voice's own), ``volume`` 0-200 (100 = normal).

        eSpeak's random generator is reseeded for every call, but its pitch flutter runs
        on a global counter that nothing resets, so the samples (and phone times, by
        about a millisecond) depend on what the process synthesized before: the same
        sequence of calls in a fresh process gives the same samples.
        """
        with self._lock:
            self._set_voice(voice)
            self._set_parameter("rate", _PARAM_RATE, rate, 80, 450)
            self._set_parameter("pitch", _PARAM_PITCH, pitch, 0, 100)
            self._set_parameter("pitch_range", _PARAM_RANGE, pitch_range, 0, 100)
            self._set_parameter("volume", _PARAM_VOLUME, volume, 0, 200)
            self._lib.espeak_ng_SetRandSeed(1)
            self._chunks, self._events = [], []
            encoded = text.encode("utf-8")
            status = self._lib.espeak_Synth(encoded, len(encoded) + 1, 0, _POS_CHARACTER, 0,
                                            _CHARS_UTF8, None, None)
            if status != _EE_OK or self._lib.espeak_Synchronize() != _EE_OK:
                raise SynthesisError(f"espeak_Synth failed (status {status}) for: {text!r}")
            native = (np.concatenate(self._chunks) if self._chunks
                      else np.zeros(0, dtype=np.int16))
            events = self._events
        if native.size == 0:
            raise SynthesisError(f"eSpeak produced no audio for: {text!r}")
        return self._assemble(text, native, events, sample_rate)

    def _assemble(self, text: str, native: np.ndarray, events: list[tuple[int, int, int, str]],
                  sample_rate: int) -> Synthesis:
        """Turn the collected audio and events into a Synthesis at ``sample_rate``."""
        word_starts: list[int] = []
        raw: list[_RawPhone] = []
        for kind, sample, text_position, mnemonic in events:
            if kind == _EVENT_WORD:
                word_starts.append(text_position - 1)
            else:
                symbol = normalize_symbol(mnemonic)
                word = len(word_starts) - 1 if word_starts and symbol != SILENCE else None
                if symbol in LINKING and raw and raw[-1].word is not None:
                    word = raw[-1].word  # eSpeak may report it after the next WORD event
                raw.append(_RawPhone(symbol, sample, word))
        segments = _segments(raw, len(native))
        bounds = [p.sample / self.native_rate for p in segments] + [len(native) / self.native_rate]
        phones = [Phone(p.symbol, start, end)
                  for p, start, end in zip(segments, bounds, bounds[1:])]
        words = []
        for index in range(len(word_starts)):
            spans = [ph for ph, seg in zip(phones, segments) if seg.word == index]
            if spans:
                words.append(Word(_word_text(text, word_starts, index), spans[0].start,
                                  spans[-1].end))
        samples = resample(native.astype(np.float32) / 32768.0, self.native_rate, sample_rate)
        return Synthesis(np.clip(samples, -1.0, 1.0), sample_rate, phones, words)

    def phonemize(self, text: str, voice: str = "en-us") -> list[str]:
        """Phone symbols eSpeak would speak for ``text`` (a word, or more), pauses left out.

        The symbols are those of ``synthesize``; a word's pronunciation can differ with
        its neighbours (weak forms such as "to" -> t @), so give the context to get it.
        """
        with self._lock:
            self._set_voice(voice)
            buffer = ctypes.create_string_buffer(text.encode("utf-8"))
            pointer = ctypes.c_void_p(ctypes.addressof(buffer))
            mode = ord(_PHONEME_SEPARATOR) << 8  # ASCII mnemonics, '_' between phones
            clauses = []
            while pointer.value:
                clauses.append(self._lib.espeak_TextToPhonemes(ctypes.byref(pointer),
                                                               _CHARS_UTF8, mode).decode())
        symbols = (normalize_symbol(m) for clause in clauses for group in clause.split()
                   for m in group.split(_PHONEME_SEPARATOR) if m)
        return [s for s in symbols if s != SILENCE and s not in NON_SEGMENTAL]


def variant_gender(variant: str) -> str:
    """'m' or 'f' as declared in ``espeak-ng-data/voices/!v/<variant>``."""
    path = Path(ESpeakSynthesizer().data_path) / "voices" / "!v" / variant
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as e:
        raise SynthesisError(f"no eSpeak voice variant '{variant}': {e}") from e
    for line in lines:
        fields = line.split()
        if len(fields) >= 2 and fields[0].lower() == "gender":
            if fields[1].lower() in ("male", "female"):
                return fields[1][0].lower()
    raise SynthesisError(f"{path}: declares no male/female gender")
