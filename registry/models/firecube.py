"""FireCube models: the two-branch 2D/3D CNN with LOADE (Eddin et al. 2022) and its baselines.

Every torch model here takes a batch ``x`` of named fields (``registry.datasets.tensors.Fields``,
or anything indexable by name) and returns (N, num_classes) logits:

- ``x["dynamic"]``: (N, T, Cd, P, P), T days of Cd dynamic variables on a P x P patch;
- ``x["static"]``: (N, Cs, P, P), static variables and land-cover fractions;
- ``x["doy"]``: (N,), day of year (1..366) of the last input day.

The label is fire ignition on the next day at the patch centre, pixel (P // 2, P // 2) (for an even
P the lower-right of the four central pixels).

``loade_cnn`` follows the method notes of Eddin et al. 2022 ("Location-aware Adaptive Normalization:
A Deep Learning Approach for Wildfire Danger Forecasting", arXiv 2212.08208):

- LOADE layer (SPADE-style, Park et al. 2019): ``x_hat = BatchNorm3d(x, affine=False)``,
  ``a = ReLU(BatchNorm2d(s, affine=False))`` of the static 2D features ``s``, ``gamma = Conv3x3(a)``,
  ``beta = Conv3x3(a)`` (weights N(0, 0.01), bias 0), ``out = x_hat * (1 + gamma) + beta`` with
  gamma and beta (N, C, H, W) repeated along time. At initialisation gamma and beta are close to 0,
  so the layer starts as a plain affine-free batch norm. The two 3x3 convs pad by replication (the
  notes leave padding open), so a spatially constant static map gives spatially constant gamma, beta.
- Dynamic branch: three stages ``Conv3d(3x3x3, padding 1) -> LOADE -> ReLU`` over the tensor laid out
  as (N, C, T, P, P), with Cd -> w -> 2w -> 4w channels (w = ``width``, 32 as in the paper).
- Static branch: three stages ``Conv2d(3x3, padding 1) -> BatchNorm2d -> ReLU``, Cs -> w -> 2w -> 4w.
  The conv output of static stage k (before its own batch norm) is the LOADE input ``s`` of dynamic
  stage k; LOADE normalises it itself.
- Pooling (our choice; the notes leave it open): both branches pool space in lockstep so that
  gamma/beta always match the dynamic maps: a 2x2 max-pool after stage 1 (time kept), a 2x2x2 max-pool
  after stage 2 (time halved too), global average pooling after stage 3. Pools use ``ceil_mode``, and a
  kernel never exceeds the axis it pools, so small patches and short windows (P=5, T=4) still run:
  P 25 -> 13 -> 7, T 10 -> 10 -> 5.
- Absolute temporal encoding of the day of year t (t = ``doy`` as given, 1..366), as the notes state:
  ``PE[t, 2i] = sin(t / 10^(2i/d))``, ``PE[t, 2i+1] = cos(t / 10^(2i/d))``, d = 256 (base 10, not the
  transformer's 10000). The pooled dynamic features (4w) are first projected to d = 256 by a linear
  layer (so d stays 256 whatever the width); ``(1 + w_pe) * PE`` is added to them, with ``w_pe`` one
  learned scalar initialised to 0 (so the day of year matters from the first step).
- Head: [projected dynamic (256), pooled static (4w)] -> 256 -> 128 -> 32 -> num_classes, ReLU between,
  dropout (0.5 in the paper) after the first two hidden layers.
- Ablation ``loade=False``: the static maps are repeated along time and concatenated to the dynamic
  input channels ((Cd + Cs) x T x P x P), and each dynamic stage is ``Conv3d -> BatchNorm3d (affine) ->
  ReLU``; no LOADE layer. The static branch is kept (its pooled features still reach the head), so the
  only difference from the full model is how static information enters the dynamic branch.

At the defaults (Cd=10, Cs=15, width 32) ``loade_cnn`` has 938,243 parameters whatever T and P:
dynamic convs 285,120 (bias-free), LOADE gamma/beta convs 387,520, static convs 96,480 and their
batch norms 448, projection to d 33,024, w 1, head 135,650. The ablation (``loade=False``) has 564,131.

Baselines (Prapas et al. 2021, "Deep Learning Methods for Daily Wildfire Danger Forecasting"):
``lstm`` on the centre pixel's time series, ``convlstm`` (Shi et al. 2015) on the patch sequence,
and scikit-learn's logistic regression and random forest on ``flat_features``. The scikit-learn
entries return unfitted estimators; ``random_state_params(estimator, seed)`` gives the
``set_params`` keywords that seed one (``random_state`` for the forest,
``logisticregression__random_state`` for the logistic-regression pipeline).
"""
from __future__ import annotations

from typing import Any, Mapping

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

PE_DIM = 256  # d of the temporal encoding (Eddin et al. 2022)
PE_BASE = 10.0  # PE[t, 2i] = sin(t / PE_BASE ** (2i / d)), per the method notes
HEAD_WIDTHS = (256, 128, 32)  # the hidden layers of the classification head


def centre(patch: int) -> int:
    """Index of the centre pixel of a ``patch`` x ``patch`` grid (the label's pixel)."""
    return patch // 2


def temporal_encoding(doy: torch.Tensor, d: int = PE_DIM, base: float = PE_BASE) -> torch.Tensor:
    """(N, d) absolute encoding of day of year: column 2i is sin(t / base^(2i/d)), 2i+1 is cos of the same."""
    if d % 2:
        raise ValueError(f"the encoding dimension must be even, got {d}")
    t = doy.reshape(-1, 1).to(torch.float64)
    exponent = torch.arange(0, d, 2, dtype=torch.float64, device=doy.device) / d  # 2i / d
    angle = t / base**exponent
    pe = torch.stack((torch.sin(angle), torch.cos(angle)), dim=2).reshape(t.shape[0], d)
    return pe.to(torch.float32)


def _pool(x: torch.Tensor, kernel: tuple[int, ...]) -> torch.Tensor:
    """Max-pool the trailing axes with stride = kernel, ceil mode, each kernel clamped to its axis."""
    sizes = x.shape[-len(kernel):]
    k = tuple(min(a, b) for a, b in zip(kernel, sizes))
    if all(a == 1 for a in k):
        return x
    pool = F.max_pool3d if len(k) == 3 else F.max_pool2d
    return pool(x, kernel_size=k, stride=k, ceil_mode=True)


class Loade(nn.Module):
    """Location-aware adaptive denormalisation: affine-free BatchNorm3d of the dynamic maps, modulated
    per pixel by gamma and beta computed from the static maps, the same at every time step."""

    def __init__(self, channels: int, cond_channels: int):
        super().__init__()
        self.norm = nn.BatchNorm3d(channels, affine=False)
        self.cond_norm = nn.BatchNorm2d(cond_channels, affine=False)
        # replicate padding: a pixel's modulation depends on the static data around it, not on how far
        # it lies from the patch edge (a spatially constant static map gives constant gamma and beta)
        self.gamma = nn.Conv2d(cond_channels, channels, 3, padding=1, padding_mode="replicate")
        self.beta = nn.Conv2d(cond_channels, channels, 3, padding=1, padding_mode="replicate")
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


class LoadeCNN(nn.Module):
    """The two-branch 3D/2D CNN of Eddin et al. 2022 (see the module docstring)."""

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
            self.dynamic_norms.append(Loade(w, w) if loade else nn.BatchNorm3d(w))
            self.static_convs.append(nn.Conv2d(previous_s, w, 3, padding=1, bias=False))
            self.static_norms.append(nn.BatchNorm2d(w))
            previous_d = previous_s = w
        self.project = nn.Linear(widths[-1], PE_DIM)
        if temporal:
            self.pe_weight = nn.Parameter(torch.zeros(()))  # w: the encoding is scaled by (1 + w)
        layers: list[nn.Module] = []
        previous = PE_DIM + widths[-1]
        for i, hidden in enumerate(HEAD_WIDTHS):
            layers += [nn.Linear(previous, hidden), nn.ReLU(inplace=True)]
            if i < 2:
                layers.append(nn.Dropout(dropout))
            previous = hidden
        layers.append(nn.Linear(previous, num_classes))
        self.head = nn.Sequential(*layers)

    def features(self, x: Mapping[str, torch.Tensor] | Any) -> torch.Tensor:
        """The head's input: [projected dynamic features (+ temporal encoding), pooled static features]."""
        d = x["dynamic"].permute(0, 2, 1, 3, 4)  # (N, T, C, P, P) -> (N, C, T, P, P)
        s = x["static"]
        if not self.loade:  # ablation: static maps repeated along time, concatenated as channels
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
            dynamic = dynamic + (1 + self.pe_weight) * temporal_encoding(x["doy"]).to(dynamic)
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
    """Ablations get their own leaderboard rows: loade_cnn, loade_cnn-no_loade, loade_cnn-no_temporal_encoding."""
    return "-".join(["loade_cnn", *(["no_loade"] if not params["loade"] else []), *(["no_temporal_encoding"] if not params["temporal_encoding"] else [])])


@MODELS.register("loade_cnn", label=_loade_label)
def loade_cnn(num_classes: int, dynamic_channels: int, static_channels: int, *, loade: bool = True,
              temporal_encoding: bool = True, dropout: Dropout = 0.5, width: PositiveInt = 32) -> nn.Module:
    """Two-branch 3D/2D CNN with LOADE static modulation and day-of-year encoding (Eddin et al. 2022); loade=False is the concatenation ablation."""
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
    "ConvLSTM", "ConvLSTMCell", "CentreLSTM", "Loade", "LoadeCNN", "centre", "flat_features",
    "random_state_params", "temporal_encoding",
]
