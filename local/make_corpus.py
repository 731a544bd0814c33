#!/usr/bin/env python3
"""Generate the default recipe's emotional speech corpus offline with eSpeak NG.

Usage: local/make_corpus.py [--seed 1] [--num-asr-speakers 6] [--num-ser-speakers 8]
                            [--asr-utts-per-speaker 40] [--ser-sentences-per-emotion 8]
                            <corpus-dir> <data-dir>

Writes, the same bytes for the same seed:
  <corpus-dir>/wav/<spk>/<utt>.wav   16 kHz 16-bit mono
  <corpus-dir>/phones.ctm            ground-truth phone alignment (utt 1 start dur phone)
  <corpus-dir>/lexicon.txt           WORD ph1 ph2 ... for every transcript word
  <data-dir>/{asr,ser}/              Kaldi data dirs: wav.scp text utt2spk spk2utt
                                     spk2gender utt2emo utt2fold
ASR speakers read template sentences, mostly neutral; SER speakers each say one set of
hand-written sentences in all four emotions. Speakers are eSpeak voice variants with
their own pitch, rate and range; emotions are prosody relative to the speaker, with
per-utterance jitter so that the classes overlap.
"""
from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from sertl.io import atomic_open, c_sorted, write_table
from sertl.progress import Progress
from sertl.synth import (LINKING, SILENCE, ESpeakSynthesizer, Phone, Synthesis, SynthesisError,
                         variant_gender)

SAMPLE_RATE = 16000
LANGUAGE = "en-us"
EMOTIONS = ("neutral", "happy", "angry", "sad")
ASR_EMOTION_WEIGHTS = (0.7, 0.1, 0.1, 0.1)
PROGRESS_EVERY = 50
NOISE_RMS = 3e-4  # recording noise floor, about -70 dBFS
PAD_SECONDS = (0.1, 0.3)  # silence added before and after the speech

# Voice variants (espeak-ng-data/voices/!v) that sound like plain adult voices.
MALE_VARIANTS = ("m1", "m2", "m3", "m4", "m6", "m7", "m8", "Andy", "Lee", "antonio",
                 "sandro", "travis", "victor", "michel", "miguel", "Denis", "Marco",
                 "Henrique", "Diogo", "Hugo")
FEMALE_VARIANTS = ("f1", "f2", "f3", "f4", "f5", "Alicia", "Andrea", "Annie", "anika",
                   "belinda", "linda", "steph", "steph2", "steph3")


@dataclass(frozen=True)
class Prosody:
    """eSpeak parameters: rate (words/min), pitch and range (0-100), volume (0-200)."""
    rate: float
    pitch: float
    pitch_range: float
    volume: float

    def espeak_arguments(self) -> dict[str, int]:
        """Integer keyword arguments for ESpeakSynthesizer.synthesize, within its limits."""
        return {"rate": int(np.clip(round(self.rate), 80, 450)),
                "pitch": int(np.clip(round(self.pitch), 0, 100)),
                "pitch_range": int(np.clip(round(self.pitch_range), 0, 100)),
                "volume": int(np.clip(round(self.volume), 0, 200))}


# Emotion relative to the speaker: (rate factor, pitch offset, range offset, volume factor).
EMOTION_PROSODY = {
    "neutral": (1.00, 0, 0, 1.00),
    "happy": (1.08, 14, 25, 1.12),
    "angry": (1.18, 8, 30, 1.50),
    "sad": (0.80, -12, -25, 0.70),
}
# Per-utterance spread: (log-rate sd, pitch sd, range sd, log-volume sd).
JITTER = (0.08, 6.0, 10.0, 0.15)


@dataclass(frozen=True)
class Speaker:
    """A voice: an eSpeak variant with its own base prosody."""
    id: str
    variant: str
    gender: str
    base: Prosody

    @property
    def voice(self) -> str:
        return f"{LANGUAGE}+{self.variant}"


@dataclass(frozen=True)
class Utterance:
    """One planned utterance: who says what, how, and into which data dir."""
    id: str
    speaker: Speaker
    emotion: str
    text: str
    prosody: Prosody
    noise_seed: int
    part: str  # "asr" or "ser"


# ---- sentence material -------------------------------------------------------------

NAMES = ("Anna", "Peter", "Maria", "David", "Susan", "Robert", "Linda", "Thomas", "Emily",
         "George", "Laura", "Michael", "Sarah", "Daniel", "Helen", "Victor", "Julia",
         "Oscar", "Nina", "Frank", "Martin", "Rachel", "Simon", "Olivia")
PEOPLE = ("farmer", "teacher", "doctor", "sailor", "driver", "student", "baker", "painter",
          "neighbor", "captain", "nurse", "lawyer", "musician", "soldier", "pilot",
          "gardener", "waiter", "writer", "engineer", "singer", "hunter", "banker", "clerk",
          "dancer", "carpenter", "plumber", "librarian", "mechanic")
PERSON_ADJECTIVES = ("old", "young", "tall", "quiet", "clever", "tired", "busy", "careful",
                     "friendly", "famous", "patient", "nervous", "proud", "brave", "lazy",
                     "polite", "strange", "cheerful", "sincere", "wealthy", "humble",
                     "curious", "gentle", "lonely", "stubborn", "clumsy", "modest", "eager",
                     "serious", "elderly")
VERBS = (("carried", "carry"), ("painted", "paint"), ("opened", "open"), ("found", "find"),
         ("washed", "wash"), ("bought", "buy"), ("sold", "sell"), ("borrowed", "borrow"),
         ("repaired", "repair"), ("dropped", "drop"), ("cleaned", "clean"),
         ("moved", "move"), ("noticed", "notice"), ("wrapped", "wrap"), ("lifted", "lift"),
         ("measured", "measure"), ("ordered", "order"), ("delivered", "deliver"),
         ("hid", "hide"), ("broke", "break"), ("filled", "fill"), ("pushed", "push"),
         ("pulled", "pull"), ("counted", "count"), ("described", "describe"),
         ("examined", "examine"), ("forgot", "forget"), ("collected", "collect"),
         ("returned", "return"), ("tested", "test"), ("watched", "watch"),
         ("followed", "follow"), ("packed", "pack"), ("covered", "cover"),
         ("kicked", "kick"), ("threw", "throw"), ("built", "build"), ("cooked", "cook"),
         ("stole", "steal"), ("signed", "sign"), ("polished", "polish"), ("shook", "shake"))
THINGS = ("basket", "window", "letter", "bicycle", "chair", "table", "bottle", "blanket",
          "ladder", "bucket", "camera", "umbrella", "violin", "jacket", "candle", "wallet",
          "notebook", "kettle", "mirror", "suitcase", "hammer", "pillow", "carpet",
          "envelope", "lantern", "telescope", "saucepan", "newspaper", "package", "helmet",
          "bracelet", "shovel", "parcel", "drawer", "ticket", "rope", "map", "coin", "key",
          "clock", "kite", "shoe", "box", "lamp", "painting", "ribbon", "vase", "button",
          "fence", "guitar", "sandwich", "puzzle", "trumpet", "cushion")
THING_ADJECTIVES = ("red", "blue", "green", "yellow", "brown", "purple", "orange", "silver",
                    "golden", "wooden", "plastic", "broken", "heavy", "tiny", "enormous",
                    "dusty", "shiny", "ancient", "expensive", "cheap", "empty", "wet",
                    "narrow", "square", "round", "striped", "fragile", "familiar")
DETERMINERS = ("the", "a", "his", "her", "their", "our", "my", "this", "that", "every")
PREPOSITIONS = ("near", "behind", "beside", "under", "across", "inside", "along", "through",
                "over", "beyond", "against", "around", "toward", "below", "outside")
PLACES = ("station", "river", "church", "bakery", "library", "harbor", "stadium", "museum",
          "hospital", "market", "school", "bridge", "forest", "village", "castle",
          "factory", "airport", "theater", "valley", "mountain", "farm", "office", "hotel",
          "kitchen", "garage", "park", "beach", "island", "lake", "tower", "cathedral",
          "warehouse")
TIMES = ("yesterday", "last week", "this morning", "on Monday", "on Tuesday",
         "on Wednesday", "on Thursday", "on Friday", "on Saturday", "on Sunday",
         "at midnight", "before breakfast", "after lunch", "in the evening", "every summer",
         "during the winter", "in October", "last night", "at dawn", "in the spring",
         "two days ago", "after the storm")
TEMPLATES = (
    "{Subject} {past} {object} {place}.",
    "{Subject} {past} {object} {time}.",
    "{Time}, {subject} {past} {object}.",
    "{Subject} {past} {object} {place} {time}.",
    "Did {subject} {base} {object} {place}?",
    "Where did {subject} {base} {object}?",
    "{Subject} wanted to {base} {object} {place}.",
    "{Subject} and {name} {past} {object} {time}.",
    "Why would {subject} {base} {object}?",
    "{Time}, {subject} promised to {base} {object}.",
)

# Said in all four emotions by every SER speaker: neutral in content, as in acted corpora.
SER_SENTENCES = (
    "The train to the coast leaves in ten minutes.",
    "I left my keys on the kitchen table.",
    "We are going to visit my sister this weekend.",
    "The meeting has been moved to Thursday afternoon.",
    "Somebody painted the front door bright green.",
    "You told me the package would arrive today.",
    "The dog has been barking at the neighbors all evening.",
    "They closed the old bridge for repairs.",
    "Please put the books back on the top shelf.",
    "My brother bought a new car last month.",
    "The results of the test came out this morning.",
    "We waited for the bus in the rain for an hour.",
    "She finally answered the phone after six rings.",
    "The children are sleeping upstairs.",
    "He sold his guitar to a stranger.",
    "The restaurant on the corner is closed tonight.",
    "Dinner will be ready in twenty minutes.",
    "I think the window was open the whole time.",
    "Our flight was delayed until midnight.",
    "The letter from the bank arrived on Monday.",
    "Nobody remembered to water the plants.",
    "The concert starts at eight in the evening.",
    "He walked all the way home from the station.",
    "The teacher gave us more homework for the holidays.",
    "They are moving to a small town in the north.",
    "Who took the last piece of cake?",
    "Is this the road to the old lighthouse?",
    "I found your photograph in a drawer.",
    "The price of bread went up again.",
    "We have to finish the report by Friday.",
    "The lights in the hallway keep flickering.",
    "Your coat is still hanging by the door.",
)


def with_article(phrase: str) -> str:
    """``a`` or ``an`` before ``phrase`` (all material words sound as they are spelled)."""
    return ("an " if phrase[0] in "aeiou" else "a ") + phrase


def noun_phrase(rng: np.random.Generator, adjectives: tuple[str, ...], nouns: tuple[str, ...],
                determiners: tuple[str, ...]) -> str:
    """A determiner, optionally an adjective, and a noun."""
    words = rng.choice(nouns)
    if rng.random() < 0.6:
        words = f"{rng.choice(adjectives)} {words}"
    det = rng.choice(determiners)
    return with_article(words) if det == "a" else f"{det} {words}"


def subject(rng: np.random.Generator) -> str:
    """A name or a noun phrase for a person."""
    if rng.random() < 0.35:
        return str(rng.choice(NAMES))
    return noun_phrase(rng, PERSON_ADJECTIVES, PEOPLE, ("the", "a", "my", "our", "their"))


def grammar_sentence(rng: np.random.Generator) -> str:
    """One sentence from the template grammar."""
    past, base = VERBS[rng.integers(len(VERBS))]
    who = subject(rng)
    slots = {
        "subject": who,
        "past": past,
        "base": base,
        "object": noun_phrase(rng, THING_ADJECTIVES, THINGS, DETERMINERS),
        "place": f"{rng.choice(PREPOSITIONS)} the {rng.choice(PLACES)}",
        "time": str(rng.choice(TIMES)),
        "name": str(rng.choice([n for n in NAMES if n != who])),
    }
    slots.update({k.capitalize(): v[0].upper() + v[1:] for k, v in list(slots.items())})
    return str(rng.choice(TEMPLATES)).format(**slots)


def transcript(text: str) -> str:
    """Upper-case words without punctuation, as in Kaldi ``text`` files."""
    return " ".join(w.strip(".,;:!?").upper() for w in text.split())


# ---- speakers and utterances ---------------------------------------------------------

def make_speakers(rng: np.random.Generator, num_asr: int, num_ser: int
                  ) -> tuple[list[Speaker], list[Speaker]]:
    """Distinct voice variants and pitch bases, alternating gender within each part."""
    total = num_asr + num_ser
    males = list(rng.permutation(MALE_VARIANTS))
    females = list(rng.permutation(FEMALE_VARIANTS))
    genders = []
    for count in (num_asr, num_ser):
        first = int(rng.integers(2))
        genders += [("m", "f")[(first + i) % 2] for i in range(count)]
    if genders.count("m") > len(males) or genders.count("f") > len(females):
        raise ValueError(f"{total} speakers need more voice variants than the "
                         f"{len(males)} male and {len(females)} female ones available")
    pitches = rng.choice(np.arange(30, 71), size=total, replace=False)
    speakers = []
    for i, (gender, pitch) in enumerate(zip(genders, pitches)):
        variant = str((males if gender == "m" else females).pop())
        declared = variant_gender(variant)
        if declared != gender:
            raise ValueError(f"voice variant '{variant}' is declared '{declared}', "
                             f"listed as '{gender}'")
        base = Prosody(rate=float(rng.uniform(150, 190)), pitch=float(pitch),
                       pitch_range=float(rng.uniform(40, 60)),
                       volume=float(rng.uniform(60, 80)))
        speakers.append(Speaker(f"spk{i + 1:02d}", variant, gender, base))
    return speakers[:num_asr], speakers[num_asr:]


def emotion_prosody(rng: np.random.Generator, base: Prosody, emotion: str) -> Prosody:
    """The speaker's prosody shifted by the emotion, with per-utterance jitter."""
    rate_f, pitch_d, range_d, volume_f = EMOTION_PROSODY[emotion]
    rate_sd, pitch_sd, range_sd, volume_sd = JITTER
    return Prosody(rate=base.rate * rate_f * float(np.exp(rng.normal(0, rate_sd))),
                   pitch=base.pitch + pitch_d + float(rng.normal(0, pitch_sd)),
                   pitch_range=base.pitch_range + range_d + float(rng.normal(0, range_sd)),
                   volume=base.volume * volume_f * float(np.exp(rng.normal(0, volume_sd))))


def plan_utterances(args: argparse.Namespace) -> list[Utterance]:
    """Every utterance of the corpus, decided from the seed before any synthesis."""
    if args.ser_sentences_per_emotion > len(SER_SENTENCES):
        raise ValueError(f"--ser-sentences-per-emotion {args.ser_sentences_per_emotion}: "
                         f"only {len(SER_SENTENCES)} SER sentences exist")
    rng = np.random.default_rng(args.seed)
    asr_speakers, ser_speakers = make_speakers(rng, args.num_asr_speakers,
                                               args.num_ser_speakers)
    utts = []
    seen: set[str] = set(SER_SENTENCES)
    for spk in asr_speakers:
        for n in range(1, args.asr_utts_per_speaker + 1):
            text = grammar_sentence(rng)
            while text in seen:
                text = grammar_sentence(rng)
            seen.add(text)
            emotion = str(rng.choice(EMOTIONS, p=ASR_EMOTION_WEIGHTS))
            utts.append(Utterance(f"{spk.id}_{emotion}_{n:03d}", spk, emotion, text,
                                  emotion_prosody(rng, spk.base, emotion),
                                  int(rng.integers(2**31)), "asr"))
    sentences = rng.choice(SER_SENTENCES, size=args.ser_sentences_per_emotion, replace=False)
    for spk in ser_speakers:
        for emotion in EMOTIONS:
            for n, text in enumerate(sentences, 1):
                utts.append(Utterance(f"{spk.id}_{emotion}_{n:03d}", spk, emotion, str(text),
                                      emotion_prosody(rng, spk.base, emotion),
                                      int(rng.integers(2**31)), "ser"))
    return sorted(utts, key=lambda u: u.id.encode())


# ---- synthesis and outputs -----------------------------------------------------------

def padded_with_noise(synthesis: Synthesis, seed: int) -> tuple[np.ndarray, list[Phone]]:
    """Add leading/trailing silence and a low noise floor, as a recording would have."""
    rng = np.random.default_rng(seed)
    lead, trail = rng.uniform(*PAD_SECONDS, size=2)
    lead_n, trail_n = int(lead * SAMPLE_RATE), int(trail * SAMPLE_RATE)
    samples = np.concatenate([np.zeros(lead_n, np.float32), synthesis.samples,
                              np.zeros(trail_n, np.float32)])
    samples += NOISE_RMS * rng.standard_normal(len(samples)).astype(np.float32)
    shift, total = lead_n / SAMPLE_RATE, len(samples) / SAMPLE_RATE
    phones = [Phone(p.symbol, p.start + shift, p.end + shift) for p in synthesis.phones]
    if phones[0].symbol == SILENCE:
        phones[0] = phones[0]._replace(start=0.0)
    else:
        phones.insert(0, Phone(SILENCE, 0.0, shift))
    if phones[-1].symbol == SILENCE:
        phones[-1] = phones[-1]._replace(end=total)
    else:
        phones.append(Phone(SILENCE, phones[-1].end, total))
    return np.clip(samples, -1.0, 1.0), phones


def write_wav(path: Path, samples: np.ndarray) -> None:
    """16-bit PCM wav, written under a temporary name and renamed when complete."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path, "wb") as f:
        sf.write(f, samples, SAMPLE_RATE, format="WAV", subtype="PCM_16")


def ctm_lines(utt: str, phones: list[Phone]) -> list[str]:
    """CTM lines with millisecond times; phones shorter than 1 ms after rounding vanish."""
    bounds = [round(p.start * 1000) for p in phones] + [round(phones[-1].end * 1000)]
    return [f"{utt} 1 {start / 1000:.3f} {(end - start) / 1000:.3f} {p.symbol}\n"
            for p, start, end in zip(phones, bounds, bounds[1:]) if end > start]


def split_pronunciation(tokens: list[str], phones: list[str],
                        synthesizer: ESpeakSynthesizer) -> list[tuple[str, ...]]:
    """Share the phones of words eSpeak spoke as one unit ("in the") among the words.

    Each word but the last takes as many phones as its own pronunciation has (at least
    one, and a linking sound after them too), leaving one or more for each word after it.
    """
    pieces, pos = [], 0
    for i, token in enumerate(tokens[:-1]):
        room = len(phones) - pos - (len(tokens) - i - 1)
        take = min(max(1, len(synthesizer.phonemize(token, LANGUAGE))), room)
        if take < room and phones[pos + take] in LINKING:
            take += 1
        pieces.append(tuple(phones[pos:pos + take]))
        pos += take
    return pieces + [tuple(phones[pos:])]


class LexiconBuilder:
    """Pronunciations of the transcript words as eSpeak actually spoke them."""

    def __init__(self, synthesizer: ESpeakSynthesizer):
        self.synthesizer = synthesizer
        self.prons: dict[str, Counter[tuple[str, ...]]] = {}

    def add(self, synthesis: Synthesis) -> None:
        for word in synthesis.words:
            tokens = transcript(word.text).split()
            phones = synthesis.word_phones(word)
            if len(phones) < len(tokens):
                continue
            for token, pron in zip(tokens, split_pronunciation(tokens, phones,
                                                               self.synthesizer)):
                self.prons.setdefault(token, Counter())[pron] += 1

    def lines(self, words: set[str]) -> list[str]:
        """``WORD ph ...`` lines, most frequent pronunciation first; a word whose spoken
        pronunciation could not be told apart from its neighbours' gets eSpeak's
        dictionary pronunciation."""
        out = []
        for word in c_sorted(words):
            counts = self.prons.get(word) or Counter(
                {tuple(self.synthesizer.phonemize(word.lower(), LANGUAGE)): 1})
            for pron in sorted(counts, key=lambda p: (-counts[p], " ".join(p).encode())):
                out.append(f"{word} {' '.join(pron)}\n")
        return out


def check_writable(directory: Path) -> None:
    """Fail early, naming the directory, when outputs cannot be written there."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise SystemExit(f"make_corpus.py: cannot create {directory}: {e.strerror}")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise SystemExit(f"make_corpus.py: directory {directory} is not writable")


def write_data_dir(data_dir: Path, utts: list[Utterance], wav_dir: Path) -> None:
    """Kaldi data dir (wav.scp text utt2spk spk2utt spk2gender utt2emo utt2fold) for
    ``utts``; the folds are leave-one-speaker-out (fold = speaker id)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    spk2utt: dict[str, list[str]] = {}
    for u in utts:
        spk2utt.setdefault(u.speaker.id, []).append(u.id)
    write_table(data_dir / "wav.scp",
                {u.id: wav_dir / u.speaker.id / f"{u.id}.wav" for u in utts})
    write_table(data_dir / "text", {u.id: transcript(u.text) for u in utts})
    write_table(data_dir / "utt2spk", {u.id: u.speaker.id for u in utts})
    write_table(data_dir / "spk2utt", {s: " ".join(c_sorted(v)) for s, v in spk2utt.items()})
    write_table(data_dir / "spk2gender", {u.speaker.id: u.speaker.gender for u in utts})
    write_table(data_dir / "utt2emo", {u.id: u.emotion for u in utts})
    write_table(data_dir / "utt2fold", {u.id: u.speaker.id for u in utts})


def make_corpus(args: argparse.Namespace) -> None:
    """Plan, synthesize and write the whole corpus and its data dirs."""
    utts = plan_utterances(args)
    corpus_dir, data_dir = Path(args.corpus_dir).resolve(), Path(args.data_dir)
    for directory in (corpus_dir, data_dir):
        check_writable(directory)
    synthesizer = ESpeakSynthesizer()
    lexicon = LexiconBuilder(synthesizer)
    ctm: list[str] = []
    progress = Progress("make_corpus.py", len(utts), interval=0)
    pending, pending_seconds = 0, 0.0
    for n, u in enumerate(utts, 1):
        try:
            synthesis = synthesizer.synthesize(u.text, voice=u.speaker.voice,
                                               sample_rate=SAMPLE_RATE,
                                               **u.prosody.espeak_arguments())
        except SynthesisError as e:
            raise SystemExit(f"make_corpus.py: utterance {u.id}: {e}")
        samples, phones = padded_with_noise(synthesis, u.noise_seed)
        write_wav(corpus_dir / "wav" / u.speaker.id / f"{u.id}.wav", samples)
        ctm += ctm_lines(u.id, phones)
        lexicon.add(synthesis)
        pending, pending_seconds = pending + 1, pending_seconds + len(samples) / SAMPLE_RATE
        if n % PROGRESS_EVERY == 0 or n == len(utts):
            progress.update(pending, pending_seconds)
            pending, pending_seconds = 0, 0.0
    with atomic_open(corpus_dir / "phones.ctm", encoding="utf-8") as f:
        f.writelines(ctm)
    words = {w for u in utts for w in transcript(u.text).split()}
    with atomic_open(corpus_dir / "lexicon.txt", encoding="utf-8") as f:
        f.writelines(lexicon.lines(words))
    for part in ("asr", "ser"):
        write_data_dir(data_dir / part, [u for u in utts if u.part == part], corpus_dir / "wav")
    progress.finish()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Generate the default emotional speech corpus with eSpeak NG.")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--num-asr-speakers", type=int, default=6)
    parser.add_argument("--num-ser-speakers", type=int, default=8)
    parser.add_argument("--asr-utts-per-speaker", type=int, default=40)
    parser.add_argument("--ser-sentences-per-emotion", type=int, default=8)
    parser.add_argument("corpus_dir")
    parser.add_argument("data_dir")
    args = parser.parse_args(argv)
    for name in ("num_asr_speakers", "num_ser_speakers", "asr_utts_per_speaker",
                 "ser_sentences_per_emotion"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


def main(argv: list[str] | None = None) -> None:
    """Command-line entry; a bad request ends with a message, not a traceback."""
    try:
        make_corpus(parse_args(argv))
    except ValueError as e:
        raise SystemExit(f"make_corpus.py: {e}")


if __name__ == "__main__":
    main()
