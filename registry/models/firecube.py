"""FireCube models: the two-branch 2D/3D CNN with LOADE (Eddin et al. 2022) and its baselines.

Every torch model here takes a batch ``x`` of named fields (``registry.datasets.tensors.Fields``,
or anything indexable by name) and returns (N, num_classes) logits:

- ``x["dynamic"]``: (N, T, Cd, P, P), T days of Cd dynamic variables on a P x P patch;
- ``x["static"]``: (N, Cs, P, P), static variables and land-cover fractions;
- ``x["doy"]``: (N,), day of year (1..366) of the last input day.

The label is fire ignition on the next day at the patch centre, pixel (P // 2, P // 2) (for an even
P the lower-right of the four central pixels).

``loade_cnn`` (``variant: official``, the default) is the network of the paper's official code,
HakamShams/LOAN ``models/CNN.py`` (class ``CNN``, with ``LOAN`` and ``PositionalEncoder``; Eddin et al.,
"Location-aware Adaptive Normalization: A Deep Learning Approach for Wildfire Danger Forecasting",
arXiv 2212.08208, IEEE TGRS 2023). Written here from that file's definition (MIT licence):

- LOADE ("LOAN") layer: ``x_hat = BatchNorm3d(x, affine=False)``, ``a = ReLU(BatchNorm2d(s, affine=False))``
  of the static 2D features ``s``, ``gamma = Conv3x3(a)``, ``beta = Conv3x3(a)`` (zero padding 1, bias;
  weights N(0, 0.01), bias 0), ``out = x_hat * (1 + gamma) + beta``, gamma and beta (N, C, H, W) repeated
  along time. The second LOADE layer has no batch norm (``LOAN(..., norm=False)``): ``out = x * (1 + gamma) + beta``.
- Dynamic branch over (N, C, T, P, P), every 3D convolution unpadded and with bias:
  ``Conv3d(Cd -> w, 3) -> LOADE(s1) -> ReLU -> MaxPool3d((1, 2, 2))``,
  ``Conv3d(w -> 2w, 3) -> LOADE without norm(s2) -> ReLU -> MaxPool3d(2)``,
  ``Conv3d(2w -> 4w, (2, 2, 2), stride (1, 2, 2)) -> ReLU`` (no LOADE), then ``AdaptiveAvgPool3d((2, 1, 1))``:
  4w channels x 2 time steps = 8w = 256 dynamic features at w = 32 (channel-major), no projection.
- Static branch, unpadded 2D convolutions with bias: ``Conv2d(Cs -> w, 3)`` = s1 (LOADE normalises it
  itself) ``-> BatchNorm2d -> ReLU -> MaxPool2d(2)``, ``Conv2d(w -> 2w, 3)`` = s2 ``-> ReLU -> MaxPool2d(2)``
  (no batch norm), ``Conv2d(2w -> 4w, 2, stride 2) -> ReLU -> global average``: 4w = 128 features.
  Batch norm only after the first static convolution.
- Absolute temporal encoding of day of year ``t``, position ``t - 1`` (the official table is indexed
  ``pe[t - 1]``): column ``j`` is ``sin(pos / 10^(2j/d))`` for even ``j`` and ``cos(pos / 10^(2j/d))`` for odd
  ``j`` (each column its own frequency), d = 8w = 256. It is scaled by ``(1 + w_pe)``, ``w_pe`` a learned
  vector of d weights initialised to 0, and added to the pooled dynamic features.
- Head: [dynamic (8w), static (4w)] -> 256 -> 128 -> 32 -> num_classes, ReLU between, dropout (0.5)
  after the first two hidden layers (the official ``Conv1d(., ., 1)`` layers are these linear maps). The
  official model ends in ``LogSoftmax`` for its NLL loss; here it returns logits, and the task's cross
  entropy on logits is the same loss.
- The unpadded convolutions and strides need T >= 8 days and P >= 14 pixels (15 for the odd patches
  a dataset gives). The paper's T = 10, P = 25 go T 10 -> 8 -> 6 -> 3 -> 2 and P 25 -> 23 -> 11 -> 9 ->
  4 -> 2 through the stages; smaller inputs are refused when the model is built. ``width`` (w, 32 in
  the official code) scales the channels; d = 8w follows.
- Ablation ``loade=False`` (not in the official code, which has no switch; Podium's reading of the
  paper's "without LOADE" model): the static maps are repeated along time and concatenated to the
  dynamic input channels, the first LOADE layer becomes an affine ``BatchNorm3d`` and the second, which
  normalises nothing, is dropped. The static branch is kept (its features still reach the head).
- ``temporal_encoding=False`` is the official ``pe=False``.

Parameters at the defaults (Cd = 10, Cs = 15, w = 32), whatever T and P:

- official: 413,762 = dynamic convs 129,696 (8,672 + 55,360 + 65,664) + LOADE gamma/beta convs 92,352
  (18,496 + 73,856) + static convs 55,744 (4,352 + 18,496 + 32,896) + one BatchNorm2d 64 + w_pe 256 +
  head 135,650 (98,560 + 32,896 + 4,128 + 66); this is what the official ``count_parameters`` of
  ``CNN(pe=True)`` adds up to (its ``test.py`` logs it). Without LOADE 334,434; without the encoding 413,506.
  The paper text available to Podium (../shared/papers/firecube_loade.md) states no parameter count.
- ``podium_v1``: 938,243 (without LOADE 564,131).

``variant: podium_v1`` is the network Podium shipped before it followed the official code, kept for two
reasons: it runs on small patches and short windows (P >= 1, T >= 1; the synthetic smoke cubes and fast
tests), which the official network cannot, and results recorded with it stay reproducible; its board
rows are labelled ``loade_cnn-podium_v1``. It was built from the paper's method notes alone: every
stage ``Conv3d(3x3x3, padding 1, no bias) -> LOADE -> ReLU`` with LOADE (replicate-padded gamma/beta
convs) after all three dynamic stages, static stages ``Conv2d(3x3, padding 1, no bias) -> BatchNorm2d ->
ReLU``, lockstep max-pools (2x2, then 2x2x2; ceil mode, clamped to small axes), global average
pooling, a linear projection of the pooled 4w dynamic features to d = 256, the encoding
``PE[t, 2i] = sin(t / 10^(2i/d))``, ``PE[t, 2i+1] = cos(t / 10^(2i/d))`` at position t, and one scalar w_pe.
Its ablation ``loade=False`` uses affine ``BatchNorm3d`` in all three stages.

Baselines (Prapas et al. 2021, "Deep Learning Methods for Daily Wildfire Danger Forecasting"):
``lstm`` on the centre pixel's time series, ``convlstm`` (Shi et al. 2015) on the patch sequence,
and scikit-learn's logistic regression and random forest on ``flat_features``. The scikit-learn
entries return unfitted estimators; ``random_state_params(estimator, seed)`` gives the
``set_params`` keywords that seed one (``random_state`` for the forest,
``logisticregression__random_state`` for the logistic-regression pipeline).
"""
from __future__ import annotations

from typing import Any, Literal, Mapping

import numpy as np
import torch
from pydantic import PositiveFloat, PositiveInt
from sklearn.base import BaseEstimator
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from torch import nn
from torch.nn import functional as F

from registry.core import MODELS
from registry.params import Dropout

PE_BASE = 10.0  # the encoding's base: 10, not the transformer's 10000 (models/CNN.py, PositionalEncoder)
PE_DIM_V1 = 256  # d of podium_v1's encoding (its pooled features are projected to it)
HEAD_WIDTHS = (256, 128, 32)  # the hidden layers of the classification head (models/CNN.py: lastlayer1..3)
MIN_WINDOW, MIN_PATCH = 8, 14  # the smallest T and P the official network's unpadded convs and strides take
Variant = Literal["official", "podium_v1"]


def centre(patch: int) -> int:
    """Index of the centre pixel of a ``patch`` x ``patch`` grid (the label's pixel)."""
    return patch // 2


def temporal_encoding(doy: torch.Tensor, d: int = 256, base: float = PE_BASE) -> torch.Tensor:
    """(N, d) official encoding of day of year t in 1..366 (models/CNN.py, ``PositionalEncoder``): at
    position pos = t - 1, column j is sin(pos / base^(2j/d)) for even j and cos(pos / base^(2j/d)) for odd j."""
    if d % 2:
        raise ValueError(f"the encoding dimension must be even, got {d}")
    pos = doy.reshape(-1, 1).to(torch.float64) - 1
    column = torch.arange(d, dtype=torch.float64, device=doy.device)
    angle = pos / base ** (2 * column / d)
    pe = torch.where(column.remainder(2) == 0, torch.sin(angle), torch.cos(angle))
    return pe.to(torch.float32)


def temporal_encoding_podium_v1(doy: torch.Tensor, d: int = PE_DIM_V1, base: float = PE_BASE) -> torch.Tensor:
    """(N, d) podium_v1's encoding of day of year t: column 2i is sin(t / base^(2i/d)), 2i+1 is cos of the same."""
    if d % 2:
        raise ValueError(f"the encoding dimension must be even, got {d}")
    t = doy.reshape(-1, 1).to(torch.float64)
    exponent = torch.arange(0, d, 2, dtype=torch.float64, device=doy.device) / d  # 2i / d
    angle = t / base**exponent
    pe = torch.stack((torch.sin(angle), torch.cos(angle)), dim=2).reshape(t.shape[0], d)
    return pe.to(torch.float32)


def _pool(x: torch.Tensor, kernel: tuple[int, ...]) -> torch.Tensor:
    """Max-pool the trailing axes with stride = kernel, ceil mode, each kernel clamped to its axis (podium_v1)."""
    sizes = x.shape[-len(kernel):]
    k = tuple(min(a, b) for a, b in zip(kernel, sizes))
    if all(a == 1 for a in k):
        return x
    pool = F.max_pool3d if len(k) == 3 else F.max_pool2d
    return pool(x, kernel_size=k, stride=k, ceil_mode=True)


class Loade(nn.Module):
    """Location-aware adaptive denormalisation: BatchNorm3d (affine-free) of the dynamic maps, or none
    (``normalize=False``, the official second layer), modulated per pixel by gamma and beta computed from
    the static maps, the same at every time step. The gamma/beta convs pad with zeros as the official
    ``LOAN`` does, or by replication (``padding_mode="replicate"``, podium_v1)."""

    def __init__(self, channels: int, cond_channels: int, *, normalize: bool = True, padding_mode: str = "zeros"):
        super().__init__()
        self.norm = nn.BatchNorm3d(channels, affine=False) if normalize else nn.Identity()
        self.cond_norm = nn.BatchNorm2d(cond_channels, affine=False)
        self.gamma = nn.Conv2d(cond_channels, channels, 3, padding=1, padding_mode=padding_mode)
        self.beta = nn.Conv2d(cond_channels, channels, 3, padding=1, padding_mode=padding_mode)
        for conv in (self.gamma, self.beta):
            nn.init.normal_(conv.weight, 0.0, 0.01)
            nn.init.zeros_(conv.bias)

    def modulation(self, s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """gamma and beta, each (N, C, H, W), from static features ``s`` (N, Cs, H, W)."""
        a = F.relu(self.cond_norm(s))
        return self.gamma(a), self.beta(a)

    def forward(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        """``x`` (N, C, T, H, W) dynamic maps, ``s`` (N, Cs, H, W) static maps -> (N, C, T, H, W)."""
        gamma, beta = self.modulation(s)
        return self.norm(x) * (1 + gamma.unsqueeze(2)) + beta.unsqueeze(2)


def _head(inputs: int, num_classes: int, dropout: float) -> nn.Sequential:
    """inputs -> 256 -> 128 -> 32 -> num_classes, ReLU between, dropout after the first two hidden layers."""
    layers: list[nn.Module] = []
    previous = inputs
    for i, hidden in enumerate(HEAD_WIDTHS):
        layers += [nn.Linear(previous, hidden), nn.ReLU(inplace=True)]
        if i < 2:
            layers.append(nn.Dropout(dropout))
        previous = hidden
    layers.append(nn.Linear(previous, num_classes))
    return nn.Sequential(*layers)


class LoadeCNN(nn.Module):
    """The two-branch 3D/2D CNN of the official code, HakamShams/LOAN models/CNN.py (see the module docstring)."""

    def __init__(self, num_classes: int, dynamic_channels: int, static_channels: int, *, loade: bool = True,
                 temporal: bool = True, dropout: float = 0.5, width: int = 32):
        super().__init__()
        self.loade = loade
        self.temporal = temporal
        w1, w2, w3 = width, 2 * width, 4 * width
        self.pe_dim = 2 * w3  # 4w channels x 2 pooled time steps
        in_dynamic = dynamic_channels if loade else dynamic_channels + static_channels
        self.dynamic1 = nn.Conv3d(in_dynamic, w1, 3)  # unpadded, with bias
        self.dynamic2 = nn.Conv3d(w1, w2, 3)
        self.dynamic3 = nn.Conv3d(w2, w3, 2, stride=(1, 2, 2))
        self.static1 = nn.Conv2d(static_channels, w1, 3)
        self.static_norm1 = nn.BatchNorm2d(w1)  # the only batch norm of the static branch
        self.static2 = nn.Conv2d(w1, w2, 3)
        self.static3 = nn.Conv2d(w2, w3, 2, stride=2)
        if loade:
            self.loade1: nn.Module = Loade(w1, w1)
            self.loade2: nn.Module | None = Loade(w2, w2, normalize=False)
        else:  # ablation: what is left of each stage without its static modulation
            self.loade1 = nn.BatchNorm3d(w1)
            self.loade2 = None
        if temporal:
            self.pe_weight = nn.Parameter(torch.zeros(self.pe_dim))  # the encoding is scaled by (1 + w), per column
        self.head = _head(self.pe_dim + w3, num_classes, dropout)

    def features(self, x: Mapping[str, torch.Tensor] | Any) -> torch.Tensor:
        """The head's input: [pooled dynamic features (+ temporal encoding), pooled static features]."""
        d = x["dynamic"].permute(0, 2, 1, 3, 4)  # (N, T, C, P, P) -> (N, C, T, P, P)
        s = x["static"]
        if not self.loade:  # ablation: static maps repeated along time, concatenated as channels
            d = torch.cat((d, s.unsqueeze(2).expand(-1, -1, d.shape[2], -1, -1)), dim=1)
        d, s = self.dynamic1(d), self.static1(s)
        d = self.loade1(d, s) if self.loade else self.loade1(d)
        s = F.relu(self.static_norm1(s))
        d = F.max_pool3d(F.relu(d), (1, 2, 2))
        s = F.max_pool2d(s, 2)
        d, s = self.dynamic2(d), self.static2(s)
        if self.loade2 is not None:
            d = self.loade2(d, s)
        d = F.max_pool3d(F.relu(d), 2)
        s = F.max_pool2d(F.relu(s), 2)
        d = F.relu(self.dynamic3(d))
        s = F.relu(self.static3(s))
        dynamic = F.adaptive_avg_pool3d(d, (2, 1, 1)).flatten(1)  # (N, 4w * 2), channel-major
        if self.temporal:
            dynamic = dynamic + temporal_encoding(x["doy"], self.pe_dim).to(dynamic) * (1 + self.pe_weight)
        return torch.cat((dynamic, s.mean(dim=(2, 3))), dim=1)

    def forward(self, x: Mapping[str, torch.Tensor] | Any) -> torch.Tensor:
        return self.head(self.features(x))


class LoadeCNNPodiumV1(nn.Module):
    """Podium's earlier reading of the paper's method notes (``variant: podium_v1``; see the module docstring)."""

    def __init__(self, num_classes: int, dynamic_channels: int, static_channels: int, *, loade: bool = True,
                 temporal: bool = True, dropout: float = 0.5, width: int = 32):
        super().__init__()
        self.loade = loade
        self.temporal = temporal
        widths = (width, 2 * width, 4 * width)
        in_dynamic = dynamic_channels if loade else dynamic_channels + static_channels
        self.dynamic_convs = nn.ModuleList()
        self.dynamic_norms = nn.ModuleList()  # Loade layers, or plain BatchNorm3d in the ablation
        self.static_convs = nn.ModuleList()
        self.static_norms = nn.ModuleList()
        previous_d, previous_s = in_dynamic, static_channels
        for w in widths:
            self.dynamic_convs.append(nn.Conv3d(previous_d, w, 3, padding=1, bias=False))
            self.dynamic_norms.append(Loade(w, w, padding_mode="replicate") if loade else nn.BatchNorm3d(w))
            self.static_convs.append(nn.Conv2d(previous_s, w, 3, padding=1, bias=False))
            self.static_norms.append(nn.BatchNorm2d(w))
            previous_d = previous_s = w
        self.project = nn.Linear(widths[-1], PE_DIM_V1)
        if temporal:
            self.pe_weight = nn.Parameter(torch.zeros(()))  # one scalar w: the encoding is scaled by (1 + w)
        self.head = _head(PE_DIM_V1 + widths[-1], num_classes, dropout)

    def features(self, x: Mapping[str, torch.Tensor] | Any) -> torch.Tensor:
        """The head's input: [projected dynamic features (+ temporal encoding), pooled static features]."""
        d = x["dynamic"].permute(0, 2, 1, 3, 4)  # (N, T, C, P, P) -> (N, C, T, P, P)
        s = x["static"]
        if not self.loade:
            d = torch.cat((d, s.unsqueeze(2).expand(-1, -1, d.shape[2], -1, -1)), dim=1)
        pools = ((1, 2, 2), (2, 2, 2))
        for stage, (conv_d, norm_d, conv_s, norm_s) in enumerate(
            zip(self.dynamic_convs, self.dynamic_norms, self.static_convs, self.static_norms)
        ):
            d = conv_d(d)
            s = conv_s(s)
            d = F.relu(norm_d(d, s) if self.loade else norm_d(d))
            s = F.relu(norm_s(s))
            if stage < len(pools):
                d = _pool(d, pools[stage])
                s = _pool(s, pools[stage][1:])
        dynamic = self.project(d.flatten(2).mean(dim=2))
        if self.temporal:
            dynamic = dynamic + (1 + self.pe_weight) * temporal_encoding_podium_v1(x["doy"]).to(dynamic)
        return torch.cat((dynamic, s.flatten(2).mean(dim=2)), dim=1)

    def forward(self, x: Mapping[str, torch.Tensor] | Any) -> torch.Tensor:
        return self.head(self.features(x))


class CentreLSTM(nn.Module):
    """An LSTM over the centre pixel's days: each step is its Cd dynamic values and its Cs static values."""

    def __init__(self, num_classes: int, dynamic_channels: int, static_channels: int, *, hidden_size: int = 64,
                 layers: int = 1, dropout: float = 0.5):
        super().__init__()
        self.lstm = nn.LSTM(dynamic_channels + static_channels, hidden_size, num_layers=layers, batch_first=True,
                            dropout=dropout if layers > 1 else 0.0)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, num_classes)

    def forward(self, x: Mapping[str, torch.Tensor] | Any) -> torch.Tensor:
        dynamic, static = x["dynamic"], x["static"]
        c = centre(dynamic.shape[-1])
        series = dynamic[:, :, :, c, c]  # (N, T, Cd)
        constant = static[:, :, c, c].unsqueeze(1).expand(-1, series.shape[1], -1)  # (N, T, Cs)
        _, (h, _) = self.lstm(torch.cat((series, constant), dim=2))
        return self.head(self.dropout(h[-1]))


class ConvLSTMCell(nn.Module):
    """ConvLSTM cell (Shi et al. 2015, eq. 3, without the peephole terms): one 3x3 conv of [input, h]
    gives the input, forget and output gates and the candidate; c = f*c + i*tanh(g), h = o*tanh(c)."""

    def __init__(self, in_channels: int, hidden: int):
        super().__init__()
        self.hidden = hidden
        self.gates = nn.Conv2d(in_channels + hidden, 4 * hidden, 3, padding=1)

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        h, c = state
        i, f, o, g = self.gates(torch.cat((x, h), dim=1)).chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c


class ConvLSTM(nn.Module):
    """Stacked ConvLSTM over the days of the patch; the last hidden map is averaged over the patch."""

    def __init__(self, num_classes: int, dynamic_channels: int, static_channels: int, *, hidden_size: int = 32,
                 layers: int = 1, dropout: float = 0.5):
        super().__init__()
        self.cells = nn.ModuleList(
            ConvLSTMCell(dynamic_channels + static_channels if i == 0 else hidden_size, hidden_size)
            for i in range(layers)
        )
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, num_classes)

    def forward(self, x: Mapping[str, torch.Tensor] | Any) -> torch.Tensor:
        dynamic, static = x["dynamic"], x["static"]
        n, steps, _, height, width = dynamic.shape
        sequence = [torch.cat((dynamic[:, t], static), dim=1) for t in range(steps)]
        for layer, cell in enumerate(self.cells):
            if layer > 0:  # between layers, as nn.LSTM applies its dropout
                sequence = [self.dropout(h) for h in sequence]
            h = dynamic.new_zeros(n, cell.hidden, height, width)
            state = (h, h)
            outputs = []
            for step in sequence:
                state = cell(step, state)
                outputs.append(state[0])
            sequence = outputs
        pooled = sequence[-1].flatten(2).mean(dim=2)
        return self.head(self.dropout(pooled))


def _loade_label(params: dict) -> str:
    """Variants and ablations get their own leaderboard rows: loade_cnn, loade_cnn-podium_v1,
    loade_cnn-no_loade, loade_cnn-no_temporal_encoding (and their combinations)."""
    parts = ["loade_cnn"]
    parts += ["podium_v1"] if params["variant"] == "podium_v1" else []
    parts += ["no_loade"] if not params["loade"] else []
    parts += ["no_temporal_encoding"] if not params["temporal_encoding"] else []
    return "-".join(parts)


@MODELS.register("loade_cnn", label=_loade_label)
def loade_cnn(num_classes: int, dynamic_channels: int, static_channels: int, window: int, patch: int, *,
              variant: Variant = "official", loade: bool = True, temporal_encoding: bool = True, dropout: Dropout = 0.5,
              width: PositiveInt = 32) -> nn.Module:
    """Two-branch 3D/2D CNN with LOADE static modulation and day-of-year encoding, as the official code (HakamShams/LOAN); loade=False is the concatenation ablation."""
    if variant == "podium_v1":
        return LoadeCNNPodiumV1(num_classes, dynamic_channels, static_channels, loade=loade, temporal=temporal_encoding,
                                dropout=dropout, width=width)
    if window < MIN_WINDOW or patch < MIN_PATCH:
        raise ValueError(
            f"the official loade_cnn needs windows of at least {MIN_WINDOW} days and patches of at least {MIN_PATCH} pixels "
            f"(unpadded convolutions and strides, HakamShams/LOAN models/CNN.py), got window {window}, patch {patch}; "
            "model.params.variant=podium_v1 runs on smaller inputs"
        )
    return LoadeCNN(num_classes, dynamic_channels, static_channels, loade=loade, temporal=temporal_encoding,
                    dropout=dropout, width=width)


@MODELS.register("lstm")
def lstm(num_classes: int, dynamic_channels: int, static_channels: int, *, hidden_size: PositiveInt = 64,
         layers: PositiveInt = 1, dropout: Dropout = 0.5) -> nn.Module:
    """LSTM on the centre pixel's daily dynamic + static values; last hidden state -> linear (Prapas et al. 2021 baseline)."""
    return CentreLSTM(num_classes, dynamic_channels, static_channels, hidden_size=hidden_size, layers=layers,
                      dropout=dropout)


@MODELS.register("convlstm")
def convlstm(num_classes: int, dynamic_channels: int, static_channels: int, *, hidden_size: PositiveInt = 32,
             layers: PositiveInt = 1, dropout: Dropout = 0.5) -> nn.Module:
    """ConvLSTM (Shi et al. 2015) over the daily dynamic + static maps; last hidden map averaged -> linear."""
    return ConvLSTM(num_classes, dynamic_channels, static_channels, hidden_size=hidden_size, layers=layers,
                    dropout=dropout)


@MODELS.register("logistic_regression")
def logistic_regression(*, c: PositiveFloat = 1.0, max_iter: PositiveInt = 1000) -> Pipeline:
    """Unfitted scikit-learn pipeline: standard scaling + L2 logistic regression on flat_features (centre pixel)."""
    return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=max_iter, class_weight=None))


@MODELS.register("random_forest")
def random_forest(*, n_estimators: PositiveInt = 100, max_depth: PositiveInt | None = None,
                  min_samples_leaf: PositiveInt = 1) -> RandomForestClassifier:
    """Unfitted scikit-learn random forest on flat_features (centre pixel); seed it with set_params(random_state=seed)."""
    return RandomForestClassifier(n_estimators=n_estimators, max_depth=max_depth, min_samples_leaf=min_samples_leaf,
                                  n_jobs=1)


def random_state_params(estimator: BaseEstimator, seed: int) -> dict[str, int]:
    """The ``set_params`` keywords that seed ``estimator``: every ``random_state`` it has, at any depth
    (``random_state`` for the forest, ``logisticregression__random_state`` for the pipeline)."""
    return {key: seed for key in estimator.get_params(deep=True)
            if key == "random_state" or key.endswith("__random_state")}


def flat_features(x: Mapping[str, torch.Tensor] | Any) -> np.ndarray:
    """(N, T*Cd + Cs) float32: the centre pixel's dynamic values, day by day (day 0's Cd values first),
    then its Cs static values; the scikit-learn baselines' input."""
    dynamic, static = x["dynamic"], x["static"]
    c = centre(dynamic.shape[-1])
    series = dynamic[:, :, :, c, c].reshape(dynamic.shape[0], -1)
    features = torch.cat((series, static[:, :, c, c]), dim=1)
    return features.detach().to("cpu", torch.float32).numpy()


__all__ = [
    "ConvLSTM", "ConvLSTMCell", "CentreLSTM", "Loade", "LoadeCNN", "LoadeCNNPodiumV1", "MIN_PATCH", "MIN_WINDOW", "centre",
    "flat_features", "random_state_params", "temporal_encoding", "temporal_encoding_podium_v1",
]
