"""Text classifiers for GLUE-style tasks: a BERT encoder written here in torch, the pretrained
MiniLM-L6 (offline), a small randomly initialised transformer, and any Hugging Face checkpoint.

Every model takes a batch ``x`` of named fields (``registry.datasets.tensors.Fields``, or anything
indexable by name) and returns logits (N, num_classes); ``num_classes == 1`` is a regression score
(STS-B):

- ``x["input_ids"]``: (N, L) int64 token ids;
- ``x["attention_mask"]``: (N, L), 1 for real tokens and 0 for padding;
- ``x["token_type_ids"]``: (N, L), 0 for the first segment and 1 for the second (zeros if absent).

Each model exposes what a task needs to feed and fine-tune it:

- ``.tokenizer``: the model's own tokenizer (``registry.datasets.text.Tokenizer``:
  ``tokenizer(text_a, text_b, max_length)`` -> int64 arrays), and ``.max_length``;
  ``model.tokenize(text_a, text_b=None)`` does both and returns ``Fields`` of torch tensors;
- ``.encoder``: ``encoder(x)`` -> pooled (N, hidden), and ``.head``: pooled -> logits, so that
  ``model(x) == head(encoder(x))`` and a head-only fine-tuning freezes ``encoder``.

The encoder (``BertEncoder``) is BERT (Devlin et al. 2019), post-LN:

- embeddings: ``word + position + token_type``, LayerNorm, dropout;
- per layer: multi-head self-attention (``attention.query``, ``.key``, ``.value``: ``nn.Linear``,
  ``scaled_dot_product_attention`` with the padding mask, dropout on the attention weights), output
  projection ``attention.output``, dropout, residual, LayerNorm ``attention_norm``; then the
  feed-forward block ``ffn = Sequential(Linear(hidden, intermediate), GELU, Linear(intermediate, hidden))``,
  dropout, residual, LayerNorm ``ffn_norm``.

Adapters find their targets by name: LoRA wraps the ``query``/``value`` linears, a parallel KronA
adapter wraps each ``ffn`` (input and output both ``hidden``); the layer calls ``self.ffn(h)``, so a
replaced ``ffn`` is used as it is.

Pooling: ``"mean"`` averages the last hidden states over real tokens (as sentence-transformers trained
all-MiniLM-L6-v2), ``"cls"`` takes the first ([CLS]) token's hidden state. BERT's ``pooler`` (tanh of a
dense layer on [CLS]) is not used: all-MiniLM-L6-v2 never trained it, and its weights are not loaded.
Padding does not change a pooled output: padded keys are masked out of attention, and padded positions
are left out of the mean.

The head is ``Sequential(Dropout, Linear(hidden, num_classes))`` (BERT's classifier), initialised
N(0, 0.02) with zero bias. ``dropout`` sets every dropout of a model: embeddings, attention weights,
hidden states and the head (BERT uses 0.1 for all of them).

Parameters: ``minilm`` has 22,565,376 in its encoder (the checkpoint's 22,713,216 less the unused
pooler's 147,840; the 30,522 x 384 word embeddings alone are 11,720,448) plus 385 * num_classes in its
head; ``tiny_transformer`` at its defaults (2 layers, hidden 128, 4 heads, intermediate 512, max_length
128, the MiniLM vocabulary of 30,522) has 4,320,256 in its encoder (3,906,816 of them word embeddings)
plus 129 * num_classes.

``hf_transformer`` loads a Hugging Face ``transformers`` checkpoint by hub name with
``AutoModelForSequenceClassification`` and ``AutoTokenizer`` (``pip install 'podium[hf]'``; it needs the
network or the local Hugging Face cache).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Mapping

import numpy as np
import torch
from pydantic import Field, PositiveInt
from torch import nn
from torch.nn import functional as F

from registry.core import MODELS
from registry.datasets.tensors import Fields
from registry.datasets.text import FileTokenizer, minilm_dir
from registry.params import Dropout
from registry.paths import DataPath

Pooling = Literal["cls", "mean"]
FIELDS = ("input_ids", "attention_mask", "token_type_ids")


def count_parameters(model: nn.Module) -> tuple[int, int]:
    """(trainable, total) parameter counts of ``model``; a parameter shared by several modules counts once."""
    params = list(model.parameters())  # .parameters() already yields each tensor once
    return sum(p.numel() for p in params if p.requires_grad), sum(p.numel() for p in params)


def tokenize(tokenizer: Any, text_a: list[str], text_b: list[str] | None, max_length: int) -> Fields:
    """``Fields`` of int64 torch tensors (N, max_length) from a ``Tokenizer``'s numpy arrays."""
    encoded = tokenizer(list(text_a), None if text_b is None else list(text_b), max_length)
    return Fields(**{name: torch.from_numpy(np.asarray(encoded[name], dtype=np.int64)) for name in FIELDS})


def _inputs(x: Fields | Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(input_ids, attention_mask, token_type_ids) of a batch, checked; token types default to zeros."""
    keys = set(x.keys())
    missing = [name for name in FIELDS[:2] if name not in keys]
    if missing:
        raise ValueError(f"text models expect fields {', '.join(FIELDS)}; missing {', '.join(missing)} (got {sorted(keys)})")
    ids, mask = x["input_ids"], x["attention_mask"]
    types = x["token_type_ids"] if "token_type_ids" in keys else torch.zeros_like(ids)
    if ids.dim() != 2 or mask.shape != ids.shape or types.shape != ids.shape:
        shapes = {"input_ids": tuple(ids.shape), "attention_mask": tuple(mask.shape), "token_type_ids": tuple(types.shape)}
        raise ValueError(f"text models expect (N, L) input_ids, attention_mask, token_type_ids of one shape, got {shapes}")
    return ids.long(), mask, types.long()


# ----------------------------------------------------------------------------------------- encoder


@dataclass(frozen=True)
class BertConfig:
    """The sizes of a BERT encoder (the fields of a Hugging Face ``config.json`` that matter here)."""

    vocab_size: int
    hidden: int = 768
    layers: int = 12
    heads: int = 12
    intermediate: int = 3072
    max_positions: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12
    dropout: float = 0.1

    def __post_init__(self) -> None:
        if self.hidden % self.heads:
            raise ValueError(f"hidden ({self.hidden}) must be divisible by heads ({self.heads})")
        for name in ("vocab_size", "hidden", "layers", "heads", "intermediate", "max_positions", "type_vocab_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")

    @classmethod
    def from_json(cls, path: str | Path, dropout: float = 0.1) -> "BertConfig":
        """The config of a Hugging Face BERT checkpoint; anything this encoder does not implement is an error."""
        config = json.loads(Path(path).read_text())
        if config.get("model_type", "bert") != "bert":
            raise ValueError(f"{path}: model_type {config.get('model_type')!r} is not 'bert'")
        if config.get("hidden_act", "gelu") != "gelu":
            raise ValueError(f"{path}: hidden_act {config.get('hidden_act')!r} is not 'gelu' (exact, erf)")
        if config.get("position_embedding_type", "absolute") != "absolute":
            raise ValueError(f"{path}: position_embedding_type {config.get('position_embedding_type')!r} is not 'absolute'")
        return cls(
            vocab_size=config["vocab_size"], hidden=config["hidden_size"], layers=config["num_hidden_layers"],
            heads=config["num_attention_heads"], intermediate=config["intermediate_size"],
            max_positions=config["max_position_embeddings"], type_vocab_size=config.get("type_vocab_size", 2),
            layer_norm_eps=config.get("layer_norm_eps", 1e-12), dropout=dropout,
        )


class Embeddings(nn.Module):
    """Word + position + token-type embeddings, LayerNorm, dropout."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.word = nn.Embedding(config.vocab_size, config.hidden)
        self.position = nn.Embedding(config.max_positions, config.hidden)
        self.token_type = nn.Embedding(config.type_vocab_size, config.hidden)
        self.norm = nn.LayerNorm(config.hidden, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor) -> torch.Tensor:
        length = input_ids.shape[1]
        if length > self.position.num_embeddings:
            raise ValueError(f"sequence length {length} exceeds the encoder's {self.position.num_embeddings} positions")
        positions = torch.arange(length, device=input_ids.device)
        h = self.word(input_ids) + self.position(positions)[None] + self.token_type(token_type_ids)
        return self.dropout(self.norm(h))


class SelfAttention(nn.Module):
    """Multi-head self-attention: ``query``/``key``/``value`` projections, scaled dot-product attention
    over the unpadded keys, output projection ``output``."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.heads = config.heads
        self.query = nn.Linear(config.hidden, config.hidden)
        self.key = nn.Linear(config.hidden, config.hidden)
        self.value = nn.Linear(config.hidden, config.hidden)
        self.output = nn.Linear(config.hidden, config.hidden)
        self.dropout = config.dropout  # on the attention weights, while training

    def forward(self, h: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        """``h`` (N, L, hidden); ``keep`` (N, 1, 1, L) bool, True for keys that may be attended to."""
        n, length, hidden = h.shape

        def split(t: torch.Tensor) -> torch.Tensor:  # (N, L, hidden) -> (N, heads, L, hidden / heads)
            return t.view(n, length, self.heads, hidden // self.heads).transpose(1, 2)

        q, k, v = split(self.query(h)), split(self.key(h)), split(self.value(h))
        p = self.dropout if self.training else 0.0
        context = F.scaled_dot_product_attention(q, k, v, attn_mask=keep, dropout_p=p)
        return self.output(context.transpose(1, 2).reshape(n, length, hidden))


class EncoderLayer(nn.Module):
    """One post-LN BERT layer: ``attention_norm(h + drop(attention(h)))``, then ``ffn_norm(h + drop(ffn(h)))``."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.attention = SelfAttention(config)
        self.attention_dropout = nn.Dropout(config.dropout)
        self.attention_norm = nn.LayerNorm(config.hidden, eps=config.layer_norm_eps)
        self.ffn = nn.Sequential(
            nn.Linear(config.hidden, config.intermediate), nn.GELU(), nn.Linear(config.intermediate, config.hidden)
        )
        self.ffn_dropout = nn.Dropout(config.dropout)
        self.ffn_norm = nn.LayerNorm(config.hidden, eps=config.layer_norm_eps)

    def forward(self, h: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        h = self.attention_norm(h + self.attention_dropout(self.attention(h, keep)))
        return self.ffn_norm(h + self.ffn_dropout(self.ffn(h)))


class BertEncoder(nn.Module):
    """BERT encoder: ``encoder(x)`` -> pooled (N, hidden) of a batch of ``Fields``;
    ``encoder.hidden_states(x)`` -> the last layer's (N, L, hidden)."""

    def __init__(self, config: BertConfig, pooling: Pooling = "cls"):
        super().__init__()
        if pooling not in ("cls", "mean"):
            raise ValueError(f"pooling must be 'cls' or 'mean', got {pooling!r}")
        self.config = config
        self.pooling = pooling
        self.hidden = config.hidden
        self.embeddings = Embeddings(config)
        self.layers = nn.ModuleList(EncoderLayer(config) for _ in range(config.layers))

    def hidden_states(self, x: Fields | Mapping[str, torch.Tensor]) -> torch.Tensor:
        ids, mask, types = _inputs(x)
        keep = (mask != 0)[:, None, None, :]
        keep = keep | ~keep.any(dim=-1, keepdim=True)  # an all-padding row attends to everything instead of giving NaN
        h = self.embeddings(ids, types)
        for layer in self.layers:
            h = layer(h, keep)
        return h

    def pool(self, h: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """(N, L, hidden) hidden states -> (N, hidden), by ``self.pooling``."""
        if self.pooling == "cls":
            return h[:, 0]
        weights = (attention_mask != 0).to(h.dtype).unsqueeze(-1)
        return (h * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)

    def forward(self, x: Fields | Mapping[str, torch.Tensor]) -> torch.Tensor:
        return self.pool(self.hidden_states(x), x["attention_mask"])


def init_bert_weights(module: nn.Module, std: float = 0.02) -> None:
    """BERT's initialisation: linear and embedding weights N(0, std), biases 0, LayerNorms weight 1 bias 0."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, std=std)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


# Hugging Face BertModel names -> BertEncoder names ("{i}" is a layer index).
_HF_NAMES = [
    (r"embeddings\.word_embeddings\.(weight)", r"embeddings.word.\1"),
    (r"embeddings\.position_embeddings\.(weight)", r"embeddings.position.\1"),
    (r"embeddings\.token_type_embeddings\.(weight)", r"embeddings.token_type.\1"),
    (r"embeddings\.LayerNorm\.(weight|bias)", r"embeddings.norm.\1"),
    (r"encoder\.layer\.(\d+)\.attention\.self\.(query|key|value)\.(weight|bias)", r"layers.\1.attention.\2.\3"),
    (r"encoder\.layer\.(\d+)\.attention\.output\.dense\.(weight|bias)", r"layers.\1.attention.output.\2"),
    (r"encoder\.layer\.(\d+)\.attention\.output\.LayerNorm\.(weight|bias)", r"layers.\1.attention_norm.\2"),
    (r"encoder\.layer\.(\d+)\.intermediate\.dense\.(weight|bias)", r"layers.\1.ffn.0.\2"),
    (r"encoder\.layer\.(\d+)\.output\.dense\.(weight|bias)", r"layers.\1.ffn.2.\2"),
    (r"encoder\.layer\.(\d+)\.output\.LayerNorm\.(weight|bias)", r"layers.\1.ffn_norm.\2"),
]
# Checkpoint entries deliberately not loaded: the position-id buffer and the unused pooler.
_SKIPPED = re.compile(r"embeddings\.position_ids|pooler\.dense\.(weight|bias)")


def hf_bert_name(name: str) -> str | None:
    """The ``BertEncoder`` parameter a Hugging Face ``BertModel`` checkpoint entry loads into
    (None for entries deliberately skipped); a name that maps nowhere is a KeyError."""
    if _SKIPPED.fullmatch(name):
        return None
    for pattern, target in _HF_NAMES:
        if re.fullmatch(pattern, name):
            return re.sub(pattern, target, name)
    raise KeyError(name)


def load_bert_weights(encoder: BertEncoder, path: str | Path) -> None:
    """Load a Hugging Face ``BertModel`` safetensors file into ``encoder`` by explicit name mapping.

    Every encoder parameter must be loaded and every checkpoint tensor used (except the position-id
    buffer and the pooler), with matching shapes; otherwise a ValueError lists what is wrong."""
    from safetensors.torch import load_file

    tensors = load_file(str(path))
    expected = encoder.state_dict()
    mapped: dict[str, torch.Tensor] = {}
    unexpected: list[str] = []
    for name, tensor in tensors.items():
        try:
            target = hf_bert_name(name)
        except KeyError:
            unexpected.append(name)
            continue
        if target is not None:
            if target not in expected:
                unexpected.append(f"{name} -> {target}")
            else:
                mapped[target] = tensor
    missing = sorted(set(expected) - set(mapped))
    shapes = [f"{k}: checkpoint {tuple(t.shape)}, model {tuple(expected[k].shape)}"
              for k, t in mapped.items() if t.shape != expected[k].shape]
    if missing or unexpected or shapes:
        parts = [f"{label}: {', '.join(items[:8])}{' ...' if len(items) > 8 else ''} ({len(items)})"
                 for label, items in (("missing", missing), ("unexpected", sorted(unexpected)), ("shape mismatch", shapes)) if items]
        raise ValueError(f"{path} does not fit the encoder: " + "; ".join(parts))
    encoder.load_state_dict(mapped, strict=True)


# -------------------------------------------------------------------------------------- classifiers


class TextClassifier(nn.Module):
    """``head(encoder(x))`` over a batch of token ``Fields``, with the tokenizer that makes them."""

    def __init__(self, encoder: nn.Module, hidden: int, num_classes: int, tokenizer: Any, max_length: int, dropout: float):
        super().__init__()
        if num_classes < 1:
            raise ValueError(f"num_classes must be positive, got {num_classes}")
        self.encoder = encoder
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(hidden, num_classes))
        init_bert_weights(self.head)
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.num_classes = num_classes

    def tokenize(self, text_a: list[str], text_b: list[str] | None = None) -> Fields:
        """Token ``Fields`` (N, max_length) of sentences (or sentence pairs) by the model's own tokenizer."""
        return tokenize(self.tokenizer, text_a, text_b, self.max_length)

    def forward(self, x: Fields | Mapping[str, torch.Tensor]) -> torch.Tensor:
        return self.head(self.encoder(x))


def _checked_length(max_length: int, positions: int, model: str) -> int:
    if not 2 <= max_length <= positions:
        raise ValueError(f"{model}: max_length must be between 2 and {positions} (its position embeddings), got {max_length}")
    return max_length


def minilm_encoder(pooling: Pooling = "mean", dropout: float = 0.1) -> BertEncoder:
    """The pretrained all-MiniLM-L6-v2 encoder (6 layers, hidden 384, 12 heads), read offline."""
    folder = Path(minilm_dir())
    encoder = BertEncoder(BertConfig.from_json(folder / "config.json", dropout=dropout), pooling)
    load_bert_weights(encoder, folder / "model.safetensors")
    return encoder


@MODELS.register("minilm", output={"classes", "regression"})
def minilm(num_classes: int, *, pooling: Pooling = "mean", dropout: Dropout = 0.1,
           max_length: Annotated[int, Field(ge=2, le=512)] = 128) -> nn.Module:
    """Pretrained all-MiniLM-L6-v2 (BERT, 6 layers, hidden 384, 22.6M params; offline) + a new linear head; mean or [CLS] pooling."""
    encoder = minilm_encoder(pooling, dropout)
    length = _checked_length(max_length, encoder.config.max_positions, "minilm")
    tokenizer = FileTokenizer(Path(minilm_dir()) / "tokenizer.json")
    return TextClassifier(encoder, encoder.hidden, num_classes, tokenizer, length, dropout)


def _vocab_size(path: Path) -> int:
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(path)).get_vocab_size(with_added_tokens=True)


@MODELS.register("tiny_transformer", output={"classes", "regression"})
def tiny_transformer(
    num_classes: int,
    *,
    layers: PositiveInt = 2,
    hidden: PositiveInt = 128,
    heads: PositiveInt = 4,
    intermediate: PositiveInt = 512,
    max_length: Annotated[int, Field(ge=2)] = 128,
    dropout: Dropout = 0.1,
    pooling: Pooling = "cls",
    tokenizer: Literal["minilm"] | DataPath = "minilm",
) -> nn.Module:
    """A small BERT trained from scratch (N(0, 0.02) init; 2 layers, hidden 128, 4 heads by default; ~4.3M params, mostly word embeddings)."""
    path = Path(minilm_dir()) / "tokenizer.json" if tokenizer == "minilm" else Path(tokenizer)
    if not path.is_file():
        raise FileNotFoundError(f"tiny_transformer: tokenizer file {path} does not exist (give 'minilm' or a tokenizer.json)")
    if max_length < 2:
        raise ValueError(f"tiny_transformer: max_length must be at least 2, got {max_length}")
    config = BertConfig(
        vocab_size=_vocab_size(path), hidden=hidden, layers=layers, heads=heads, intermediate=intermediate,
        max_positions=max_length, dropout=dropout,
    )
    encoder = BertEncoder(config, pooling)
    init_bert_weights(encoder)
    return TextClassifier(encoder, hidden, num_classes, FileTokenizer(path), max_length, dropout)


# ----------------------------------------------------------------------------------- Hugging Face


class HFTokenizer:
    """A ``transformers`` tokenizer behind the ``Tokenizer`` protocol: int64 (N, max_length) arrays,
    padded to ``max_length`` and truncated (longest first for pairs); token types are zeros for models
    that have none."""

    def __init__(self, tokenizer: Any, identity: str):
        self.tokenizer = tokenizer
        self.identity = identity

    def __call__(self, text_a: list[str], text_b: list[str] | None, max_length: int) -> dict[str, np.ndarray]:
        encoded = self.tokenizer(
            list(text_a), None if text_b is None else list(text_b), padding="max_length", truncation=True,
            max_length=max_length, return_tensors="np", return_attention_mask=True,
        )
        ids = np.asarray(encoded["input_ids"], dtype=np.int64)
        out = {"input_ids": ids, "attention_mask": np.asarray(encoded["attention_mask"], dtype=np.int64)}
        types = encoded.get("token_type_ids")
        out["token_type_ids"] = np.zeros_like(ids) if types is None else np.asarray(types, dtype=np.int64)
        return out


class _HFEncoder(nn.Module):
    """The body of a Hugging Face classifier: ``x`` -> its pooler output, or the first token's last hidden state."""

    def __init__(self, body: nn.Module, input_names: tuple[str, ...]):
        super().__init__()
        self.body = body
        self.input_names = input_names

    def forward(self, x: Fields | Mapping[str, torch.Tensor]) -> torch.Tensor:
        out = self.body(**_hf_inputs(x, self.input_names))
        pooled = getattr(out, "pooler_output", None)
        return pooled if pooled is not None else out.last_hidden_state[:, 0]


class _HFHeadParts(nn.Module):
    """The parameters outside a Hugging Face classifier's body, for freezing and counting; not callable."""

    def __init__(self, parts: dict[str, nn.Module]):
        super().__init__()
        self.parts = nn.ModuleDict(parts)

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(
            f"this checkpoint's head ({', '.join(self.parts)}) does not take a pooled vector; call the model itself "
            "(freezing .encoder still gives head-only fine-tuning)"
        )


def _hf_inputs(x: Fields | Mapping[str, torch.Tensor], names: tuple[str, ...]) -> dict[str, torch.Tensor]:
    ids, mask, types = _inputs(x)
    given = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
    return {name: given[name] for name in FIELDS if name in names}


class HFClassifier(nn.Module):
    """A Hugging Face ``AutoModelForSequenceClassification`` that takes token ``Fields``.

    ``.encoder`` is the checkpoint's body (``base_model``) and ``.head`` everything else, views into
    ``.model`` (not registered twice, so the state dict is the checkpoint's own). For BERT-style
    checkpoints (a body with a pooler, then ``dropout`` and a linear ``classifier``: BERT, ALBERT, ...)
    ``head(encoder(x)) == model(x)`` (``composable``). Other families (RoBERTa, DistilBERT, ELECTRA, ...)
    classify from the token states with their own layers: there ``.head`` only holds those parameters
    (freezing ``.encoder`` still makes a head-only fine-tuning) and calling it raises."""

    def __init__(self, model: nn.Module, tokenizer: HFTokenizer, max_length: int, input_names: tuple[str, ...]):
        super().__init__()
        self.model = model
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.input_names = input_names
        self.num_classes = int(model.config.num_labels)
        body = model.base_model
        rest = {name: m for name, m in model.named_children() if m is not body}
        classifier, dropout = rest.get("classifier"), rest.get("dropout")
        self.composable = (
            isinstance(classifier, nn.Linear) and getattr(body, "pooler", None) is not None
            and set(rest) <= {"classifier", "dropout"}
        )
        if self.composable:
            head: nn.Module = nn.Sequential(dropout or nn.Identity(), classifier)
        else:
            head = _HFHeadParts(rest)
        # views into self.model, kept out of the module tree (object.__setattr__) so nothing is registered twice
        object.__setattr__(self, "_encoder", _HFEncoder(body, input_names))
        object.__setattr__(self, "_head", head)

    @property
    def encoder(self) -> nn.Module:
        return self._encoder

    @property
    def head(self) -> nn.Module:
        return self._head

    def tokenize(self, text_a: list[str], text_b: list[str] | None = None) -> Fields:
        """Token ``Fields`` (N, max_length) by the checkpoint's own tokenizer."""
        return tokenize(self.tokenizer, text_a, text_b, self.max_length)

    def forward(self, x: Fields | Mapping[str, torch.Tensor]) -> torch.Tensor:
        return self.model(**_hf_inputs(x, self.input_names)).logits


@MODELS.register("hf_transformer", output={"classes", "regression"})
def hf_transformer(num_classes: int, *, name: str, max_length: PositiveInt = 128, revision: str | None = None) -> nn.Module:
    """A Hugging Face transformers checkpoint by hub name (AutoModelForSequenceClassification + AutoTokenizer); needs podium[hf]."""
    try:
        import transformers
    except ImportError as err:
        raise ImportError(
            "hf_transformer needs the Hugging Face `transformers` package: pip install 'podium[hf]'"
        ) from err
    kwargs = {"revision": revision} if revision else {}
    hf_tokenizer = transformers.AutoTokenizer.from_pretrained(name, **kwargs)
    model = transformers.AutoModelForSequenceClassification.from_pretrained(name, num_labels=num_classes, **kwargs)
    resolved = getattr(model.config, "_commit_hash", None) or revision
    identity = f"hf:{name}" + (f"@{resolved}" if resolved else "")
    limit = getattr(hf_tokenizer, "model_max_length", None)
    if isinstance(limit, int) and limit < 10**6 and max_length > limit:  # 1e30 means "no limit known"
        raise ValueError(f"hf_transformer: max_length {max_length} exceeds {name}'s {limit}")
    names = tuple(n for n in FIELDS if n in getattr(hf_tokenizer, "model_input_names", FIELDS[:2]))
    names = names if "input_ids" in names else FIELDS[:2]
    return HFClassifier(model, HFTokenizer(hf_tokenizer, identity), max_length, names)
