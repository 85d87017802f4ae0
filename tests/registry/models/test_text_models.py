"""The text models: the BERT encoder, pretrained MiniLM (offline), tiny_transformer, hf_transformer."""
from __future__ import annotations

import copy
import sys
import types

import numpy as np
import pydantic
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import nn
from torch.nn import functional as F

import registry
import registry.models.text  # registers the entries (without importing every other registry module)
from registry.datasets.tensors import Fields
from registry.datasets.text import FileTokenizer, minilm_dir
from registry.models.text import (
    BertConfig,
    BertEncoder,
    HFClassifier,
    TextClassifier,
    count_parameters,
    hf_bert_name,
    init_bert_weights,
    load_bert_weights,
)

SENTENCES = ["A man is playing a guitar.", "Someone plays the guitar.", "The stock market fell today."]


def build(entry: str, num_classes: int = 3, **params) -> nn.Module:
    return registry.MODELS.get(entry).build(harness={"num_classes": num_classes}, params=params).eval()


@pytest.fixture(scope="module")
def minilm() -> TextClassifier:
    torch.manual_seed(0)
    return build("minilm", 3, max_length=32)  # short sequences keep the tests fast


@pytest.fixture(scope="module")
def checkpoint() -> dict[str, torch.Tensor]:
    return load_file(str(minilm_dir() / "model.safetensors"))


# ------------------------------------------------------------------------------------------ MiniLM


def test_minilm_loads_every_weight_from_the_checkpoint(minilm, checkpoint):
    state = minilm.encoder.state_dict()
    loaded = {hf_bert_name(k): v for k, v in checkpoint.items() if hf_bert_name(k) is not None}
    assert set(loaded) == set(state)  # every parameter has a checkpoint tensor, and no tensor is left over
    for name, tensor in loaded.items():
        assert torch.equal(state[name], tensor), name
    enc = minilm.encoder
    assert torch.equal(enc.embeddings.word.weight, checkpoint["embeddings.word_embeddings.weight"])
    assert torch.equal(enc.layers[0].attention.query.weight, checkpoint["encoder.layer.0.attention.self.query.weight"])
    assert torch.equal(enc.layers[5].ffn[0].bias, checkpoint["encoder.layer.5.intermediate.dense.bias"])
    assert torch.equal(enc.layers[3].ffn[2].weight, checkpoint["encoder.layer.3.output.dense.weight"])
    assert torch.equal(enc.layers[2].ffn_norm.weight, checkpoint["encoder.layer.2.output.LayerNorm.weight"])
    assert torch.equal(enc.layers[4].attention_norm.bias, checkpoint["encoder.layer.4.attention.output.LayerNorm.bias"])
    assert (enc.config.vocab_size, enc.config.hidden, enc.config.layers, enc.config.heads, enc.config.intermediate) == (30522, 384, 6, 12, 1536)


def _reference_bert(w: dict[str, torch.Tensor], ids, mask, types, layers=6, heads=12, eps=1e-12):
    """BERT written out from the checkpoint's own names, with an additive mask and explicit softmax."""
    length = ids.shape[1]
    h = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:length] \
        + w["embeddings.token_type_embeddings.weight"][types]
    h = F.layer_norm(h, h.shape[-1:], w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
    n, _, hidden = h.shape
    bias = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
    for i in range(layers):
        p = f"encoder.layer.{i}."
        lin = lambda t, name: t @ w[p + name + ".weight"].T + w[p + name + ".bias"]  # noqa: E731
        heads_of = lambda t: t.view(n, length, heads, hidden // heads).transpose(1, 2)  # noqa: E731
        q, k, v = (heads_of(lin(h, f"attention.self.{s}")) for s in ("query", "key", "value"))
        scores = q @ k.transpose(-1, -2) / (hidden // heads) ** 0.5 + bias
        ctx = (scores.softmax(-1) @ v).transpose(1, 2).reshape(n, length, hidden)
        h = F.layer_norm(h + lin(ctx, "attention.output.dense"), (hidden,), w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"], eps)
        ff = lin(F.gelu(lin(h, "intermediate.dense")), "output.dense")
        h = F.layer_norm(h + ff, (hidden,), w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], eps)
    return h


def test_minilm_matches_bert_written_out_from_the_checkpoint(minilm, checkpoint):
    x = minilm.tokenize(SENTENCES[:2], ["How are you?", "The market rose."])
    x = Fields(**{k: x[k][:, :24] for k in x.keys()})
    with torch.no_grad():
        ours = minilm.encoder.hidden_states(x)
        ref = _reference_bert(checkpoint, x["input_ids"], x["attention_mask"], x["token_type_ids"])
    real = x["attention_mask"].bool()
    assert torch.allclose(ours[real], ref[real], atol=1e-4)


def test_minilm_logits_are_finite_and_shaped(minilm):
    x = minilm.tokenize(SENTENCES)
    assert set(x.keys()) == {"input_ids", "attention_mask", "token_type_ids"}
    assert x["input_ids"].shape == (3, minilm.max_length) and x["input_ids"].dtype == torch.int64
    with torch.no_grad():
        out = minilm(x)
        pairs = minilm(minilm.tokenize(SENTENCES, SENTENCES[::-1]))
    assert out.shape == (3, 3) and pairs.shape == (3, 3)
    assert torch.isfinite(out).all() and torch.isfinite(pairs).all()
    assert torch.allclose(out, minilm.head(minilm.encoder(x)))


def test_minilm_paraphrases_are_closer_than_an_unrelated_sentence(minilm):
    assert minilm.encoder.pooling == "mean"
    with torch.no_grad():
        e = F.normalize(minilm.encoder(minilm.tokenize(SENTENCES)), dim=-1)
    paraphrase, unrelated = float(e[0] @ e[1]), max(float(e[0] @ e[2]), float(e[1] @ e[2]))
    assert paraphrase > 0.6 and unrelated < 0.3, (paraphrase, unrelated)


@pytest.mark.parametrize("pooling", ["mean", "cls"])
def test_padding_does_not_change_the_pooled_output(minilm, pooling):
    encoder = copy.deepcopy(minilm.encoder)
    encoder.pooling = pooling
    short = Fields(**{k: torch.from_numpy(v) for k, v in minilm.tokenizer(SENTENCES[:1], None, 16).items()})
    long = Fields(**{k: torch.from_numpy(v) for k, v in minilm.tokenizer(SENTENCES[:1], None, 64).items()})
    assert short["attention_mask"].sum() == long["attention_mask"].sum() < 16
    with torch.no_grad():
        a, b = encoder(short), encoder(long)
    assert (a - b).abs().max() < 1e-5


def test_regression_head_and_the_parts_tasks_use():
    torch.manual_seed(0)
    model = build("minilm", 1, pooling="cls", max_length=32)
    assert isinstance(model.tokenizer, FileTokenizer)
    assert model.tokenizer.path == minilm_dir() / "tokenizer.json" and model.tokenizer.identity
    assert model.max_length == 32 and model.encoder.pooling == "cls"
    x = model.tokenize(SENTENCES, SENTENCES)
    with torch.no_grad():
        assert model(x).shape == (3, 1)
        assert model.encoder(x).shape == (3, 384)
    assert isinstance(model.head[-1], nn.Linear) and model.head[-1].out_features == 1
    # head-only fine-tuning: freezing the encoder leaves the 385 head parameters trainable
    model.encoder.requires_grad_(False)
    assert count_parameters(model) == (385, 22_565_376 + 385)


def test_minilm_defaults_and_parameter_count():
    model = build("minilm", 2)
    assert model.max_length == 128 and model.encoder.pooling == "mean" and model.head[0].p == 0.1
    assert count_parameters(model) == (22_565_376 + 770, 22_565_376 + 770)


# --------------------------------------------------------------------------------- tiny transformer


def test_tiny_transformer_shapes_and_defaults():
    torch.manual_seed(0)
    model = build("tiny_transformer", 4)
    config = model.encoder.config
    assert (config.layers, config.hidden, config.heads, config.intermediate, config.max_positions) == (2, 128, 4, 512, 128)
    assert config.vocab_size == 30522 and model.encoder.pooling == "cls" and model.max_length == 128
    assert count_parameters(model.encoder) == (4_320_256, 4_320_256)
    x = model.tokenize(SENTENCES, SENTENCES[::-1])
    with torch.no_grad():
        out = model(x)
    assert out.shape == (3, 4) and torch.isfinite(out).all()
    assert build("tiny_transformer", 1, layers=1, hidden=32, heads=2, intermediate=64)(x).shape == (3, 1)


def test_tiny_transformer_parameters_grow_with_layers_and_hidden():
    small = count_parameters(build("tiny_transformer", 2, layers=1, hidden=64, heads=2, intermediate=128))[1]
    deeper = count_parameters(build("tiny_transformer", 2, layers=3, hidden=64, heads=2, intermediate=128))[1]
    wider = count_parameters(build("tiny_transformer", 2, layers=1, hidden=128, heads=2, intermediate=128))[1]
    assert small < deeper and small < wider
    per_layer = 4 * (64 * 64 + 64) + 2 * 2 * 64 + (64 * 128 + 128) + (128 * 64 + 64)
    assert deeper - small == 2 * per_layer


def test_tiny_transformer_is_deterministic_given_a_seed():
    def run(seed: int) -> tuple[nn.Module, torch.Tensor]:
        torch.manual_seed(seed)
        model = build("tiny_transformer", 2, layers=1, hidden=32, heads=2, intermediate=64)
        with torch.no_grad():
            return model, model(model.tokenize(SENTENCES))

    (a, out_a), (b, out_b), (_c, out_c) = run(0), run(0), run(1)
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))
    assert torch.equal(out_a, out_b) and not torch.equal(out_a, out_c)


def test_tiny_transformer_init_is_bert_like_and_it_trains():
    torch.manual_seed(0)
    model = build("tiny_transformer", 2, layers=2, hidden=64, heads=4, intermediate=128, max_length=16).train()
    q = model.encoder.layers[0].attention.query
    assert abs(float(q.weight.detach().std()) - 0.02) < 0.003 and not q.bias.detach().any()
    x = model.tokenize(SENTENCES)
    assert not torch.equal(model(x), model(x))  # dropout is on while training
    loss = F.cross_entropy(model(x), torch.tensor([0, 0, 1]))
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_tiny_transformer_with_a_tokenizer_file(tmp_path):
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {"[PAD]": 0, "[UNK]": 1, "a": 2, "b": 3}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.save(str(tmp_path / "tokenizer.json"))
    model = build("tiny_transformer", 2, tokenizer=str(tmp_path / "tokenizer.json"), hidden=16, heads=2, intermediate=32, max_length=8)
    assert model.encoder.config.vocab_size == 4
    assert model(model.tokenize(["a b", "b b b"])).shape == (2, 2)
    with pytest.raises(FileNotFoundError, match="tokenizer"):
        build("tiny_transformer", 2, tokenizer=str(tmp_path / "missing.json"))


def test_spec_params_are_validated():
    for name, params in [("minilm", {"pooling": "max"}), ("minilm", {"dropout": 1.5}), ("tiny_transformer", {"layers": 0}),
                         ("tiny_transformer", {"widht": 3}), ("hf_transformer", {})]:
        with pytest.raises(pydantic.ValidationError):
            registry.MODELS.get(name).parsed_params(params)
    with pytest.raises(ValueError, match="divisible"):
        build("tiny_transformer", 2, hidden=30, heads=4)
    with pytest.raises(ValueError, match="max_length"):
        build("minilm", 2, max_length=1000)


def test_input_fields_are_checked(minilm):
    x = minilm.tokenize(SENTENCES)
    with pytest.raises(ValueError, match="attention_mask"):
        minilm(Fields(input_ids=x["input_ids"]))
    no_types = Fields(input_ids=x["input_ids"], attention_mask=x["attention_mask"])
    with torch.no_grad():
        assert torch.equal(minilm(no_types), minilm(x))  # token types default to zeros
    empty = Fields(input_ids=x["input_ids"], attention_mask=torch.zeros_like(x["attention_mask"]))
    with torch.no_grad():
        assert torch.isfinite(minilm(empty)).all()  # an all-padding row gives no NaN
    tiny = build("tiny_transformer", 2, hidden=16, heads=2, intermediate=32, max_length=8)
    with pytest.raises(ValueError, match="positions"):
        tiny(Fields(**{k: x[k][:, :16] for k in x.keys()}))


# ------------------------------------------------------------------------------------ adapter hooks


def test_module_names_adapters_target(minilm):
    names = dict(minilm.named_modules())
    for i in range(6):
        for part in ("query", "key", "value"):
            assert isinstance(names[f"encoder.layers.{i}.attention.{part}"], nn.Linear)
        ffn = names[f"encoder.layers.{i}.ffn"]
        assert isinstance(ffn, nn.Sequential) and [type(m) for m in ffn] == [nn.Linear, nn.GELU, nn.Linear]
        assert (ffn[0].in_features, ffn[0].out_features, ffn[2].out_features) == (384, 1536, 384)
    assert sum(n.endswith(".query") for n in names) == sum(n.endswith(".value") for n in names) == 6


def test_a_replaced_ffn_is_what_the_layer_runs():
    class Parallel(nn.Module):  # a parallel adapter: ffn(h) + adapter(h), the adapter starting at zero
        def __init__(self, ffn: nn.Module, hidden: int):
            super().__init__()
            self.ffn, self.adapter = ffn, nn.Linear(hidden, hidden)
            nn.init.zeros_(self.adapter.weight), nn.init.zeros_(self.adapter.bias)

        def forward(self, h):
            return self.ffn(h) + self.adapter(h)

    torch.manual_seed(0)
    model = build("tiny_transformer", 2, hidden=32, heads=2, intermediate=64, max_length=16)
    x = model.tokenize(SENTENCES)
    with torch.no_grad():
        before = model(x)
        for layer in model.encoder.layers:
            layer.ffn = Parallel(layer.ffn, 32)
        assert torch.allclose(model(x), before, atol=1e-6)
        model.encoder.layers[0].ffn.adapter.bias.copy_(torch.linspace(-1, 1, 32))  # not constant: LayerNorm would remove that
        assert not torch.allclose(model(x), before, atol=1e-3)


# ---------------------------------------------------------------------------------- weight loading


def _hf_checkpoint(encoder: BertEncoder) -> dict[str, torch.Tensor]:
    """``encoder``'s weights under Hugging Face BertModel names (plus the position-id buffer)."""
    with safe_open(str(minilm_dir() / "model.safetensors"), "pt") as f:
        hf_names = list(f.keys())
    state = encoder.state_dict()
    out = {}
    for i in range(encoder.config.layers):
        for name in hf_names:
            name = name.replace("encoder.layer.0.", f"encoder.layer.{i}.")
            target = hf_bert_name(name)
            if target is not None and target in state:
                out[name] = state[target].clone()
    out["embeddings.position_ids"] = torch.arange(encoder.config.max_positions)[None]
    return out


def test_loading_round_trips_and_fails_loudly(tmp_path):
    config = BertConfig(vocab_size=50, hidden=16, layers=2, heads=2, intermediate=32, max_positions=12)
    torch.manual_seed(0)
    source = BertEncoder(config)
    init_bert_weights(source)
    weights = _hf_checkpoint(source)
    assert len(weights) == 5 + 16 * 2 + 1
    save_file(weights, str(tmp_path / "ok.safetensors"))
    target = BertEncoder(config)
    load_bert_weights(target, tmp_path / "ok.safetensors")
    assert all(torch.equal(a, b) for a, b in zip(source.state_dict().values(), target.state_dict().values()))

    cases = {
        "missing": {k: v for k, v in weights.items() if "layer.1.output.dense.bias" not in k},
        "unexpected": {**weights, "classifier.weight": torch.zeros(2, 16)},
        "shape mismatch": {**weights, "embeddings.word_embeddings.weight": torch.zeros(51, 16)},
    }
    for problem, bad in cases.items():
        save_file(bad, str(tmp_path / "bad.safetensors"))
        with pytest.raises(ValueError, match=problem):
            load_bert_weights(BertEncoder(config), tmp_path / "bad.safetensors")
    deeper = BertConfig(vocab_size=50, hidden=16, layers=3, heads=2, intermediate=32, max_positions=12)
    with pytest.raises(ValueError, match="missing: layers.2"):
        load_bert_weights(BertEncoder(deeper), tmp_path / "ok.safetensors")
    with pytest.raises(KeyError):
        hf_bert_name("encoder.layer.0.crossattention.self.query.weight")


def test_models_survive_deepcopy(minilm):
    clone = copy.deepcopy(minilm)
    x = minilm.tokenize(SENTENCES[:1])
    with torch.no_grad():
        assert torch.equal(clone(x), minilm(x))
    assert clone.tokenizer.identity == minilm.tokenizer.identity


# ----------------------------------------------------------------------------------- Hugging Face


def test_hf_transformer_without_transformers_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(ImportError, match=r"pip install 'podium\[hf\]'"):
        build("hf_transformer", 2, name="bert-base-uncased")


class _FakeBert(nn.Module):
    """Shaped like BertForSequenceClassification: ``bert`` (with a pooler), ``dropout``, ``classifier``."""

    def __init__(self, num_labels: int, hidden: int = 8):
        super().__init__()
        self.config = types.SimpleNamespace(num_labels=num_labels, _commit_hash="abc123")
        self.bert = _FakeBody(hidden, pooler=True)
        self.dropout = nn.Dropout(0.1)
        self.classifier = nn.Linear(hidden, num_labels)

    @property
    def base_model(self):
        return self.bert

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        return types.SimpleNamespace(logits=self.classifier(self.dropout(self.bert(input_ids, attention_mask).pooler_output)))


class _FakeBody(nn.Module):
    def __init__(self, hidden: int, pooler: bool):
        super().__init__()
        self.embed = nn.Embedding(100, hidden)
        self.pooler = nn.Linear(hidden, hidden) if pooler else None

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        h = self.embed(input_ids)
        pooled = torch.tanh(self.pooler(h[:, 0])) if self.pooler is not None else None
        return types.SimpleNamespace(last_hidden_state=h, pooler_output=pooled)


class _FakeDistil(nn.Module):
    """Shaped like DistilBertForSequenceClassification: no token types, head on the token states."""

    def __init__(self, num_labels: int, hidden: int = 8):
        super().__init__()
        self.config = types.SimpleNamespace(num_labels=num_labels)
        self.distilbert = _FakeBody(hidden, pooler=False)
        self.pre_classifier = nn.Linear(hidden, hidden)
        self.classifier = nn.Linear(hidden, num_labels)

    @property
    def base_model(self):
        return self.distilbert

    def forward(self, input_ids, attention_mask):  # a token_type_ids argument would be a TypeError
        h = self.distilbert(input_ids, attention_mask).last_hidden_state[:, 0]
        return types.SimpleNamespace(logits=self.classifier(torch.relu(self.pre_classifier(h))))


class _FakeTokenizer:
    def __init__(self, input_names):
        self.model_input_names = input_names
        self.model_max_length = 512

    def __call__(self, text_a, text_b, padding, truncation, max_length, return_tensors, return_attention_mask):
        assert padding == "max_length" and truncation is True and return_tensors == "np"
        ids = np.zeros((len(text_a), max_length), dtype=np.int32)
        mask = np.zeros_like(ids)
        for row, text in enumerate(text_a):
            words = text.split()[: max_length]
            ids[row, : len(words)] = [1 + len(w) for w in words]
            mask[row, : len(words)] = 1
        out = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.model_input_names:
            out["token_type_ids"] = np.zeros_like(ids)
        return out


def _fake_transformers(model_cls, input_names):
    calls = []

    class AutoTokenizer:
        @staticmethod
        def from_pretrained(name, **kwargs):
            calls.append(("tokenizer", name, kwargs))
            return _FakeTokenizer(input_names)

    class AutoModelForSequenceClassification:
        @staticmethod
        def from_pretrained(name, num_labels, **kwargs):
            calls.append(("model", name, kwargs))
            return model_cls(num_labels)

    module = types.ModuleType("transformers")
    module.AutoTokenizer, module.AutoModelForSequenceClassification = AutoTokenizer, AutoModelForSequenceClassification
    return module, calls


def test_hf_transformer_wraps_a_bert_style_checkpoint(monkeypatch):
    module, calls = _fake_transformers(_FakeBert, ["input_ids", "token_type_ids", "attention_mask"])
    monkeypatch.setitem(sys.modules, "transformers", module)
    model = build("hf_transformer", 3, name="org/bert-tiny", max_length=6, revision="main")
    assert isinstance(model, HFClassifier) and model.composable
    assert calls == [("tokenizer", "org/bert-tiny", {"revision": "main"}), ("model", "org/bert-tiny", {"revision": "main"})]
    assert model.tokenizer.identity == "hf:org/bert-tiny@abc123" and model.max_length == 6
    x = model.tokenize(SENTENCES)
    assert x["input_ids"].dtype == torch.int64 and x["input_ids"].shape == (3, 6)
    with torch.no_grad():
        out = model(x)
        assert out.shape == (3, 3) and torch.allclose(model.head(model.encoder(x)), out)
    assert all(k.startswith("model.") for k in model.state_dict())  # encoder/head are views, not copies
    model.encoder.requires_grad_(False)
    assert count_parameters(model)[0] == 8 * 3 + 3


def test_hf_transformer_wraps_a_checkpoint_without_token_types(monkeypatch):
    module, _ = _fake_transformers(_FakeDistil, ["input_ids", "attention_mask"])
    monkeypatch.setitem(sys.modules, "transformers", module)
    model = build("hf_transformer", 2, name="org/distil")
    assert not model.composable and model.tokenizer.identity == "hf:org/distil"
    x = model.tokenize(SENTENCES)
    with torch.no_grad():
        assert model(x).shape == (3, 2)
        assert model.encoder(x).shape == (3, 8)
    with pytest.raises(NotImplementedError, match="call the model"):
        model.head(torch.zeros(3, 8))
    model.encoder.requires_grad_(False)
    assert count_parameters(model)[0] == (8 * 8 + 8) + (8 * 2 + 2)
