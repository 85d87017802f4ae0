"""Parameter-efficient fine-tuning adapters: LoRA and KronA (with its parallel variants KronA^B and
KronA^B_res), applied to a frozen model by module name and merged back for inference.

A library for the fine-tuning task; it registers nothing. Method facts: ../shared/papers/krona_lora.md.

Conventions. PyTorch's ``nn.Linear`` stores its weight as W of shape (out, in) and computes
``x W^T + b``. The papers write a layer as ``X W`` with W of shape (d_in x d_out); every update matrix
here is written that way too: an (in, out) matrix M acting as ``x @ M``, so merging adds ``M^T`` to
``nn.Linear.weight``.

- LoRA (Hu et al. 2021, arXiv 2106.09685): ``y = base(x) + (alpha / r) * (x A) B``, A (in x r), B (r x out).
- KronA (Edalati et al. 2022, arXiv 2212.10650): ``y = base(x) + s * x (A ⊗ B)``, A (a1 x a2),
  B (b1 x b2), a1 b1 = in, a2 b2 = out; ``a1 a2 + b1 b2`` trainable parameters, and
  rank(A ⊗ B) = rank(A) rank(B), so the update can be full rank (the paper's argument against
  low-rank adapters). The product is computed without forming A ⊗ B (``kron_matmul``).
- KronA^B: ``y = f(x) + s * x (A ⊗ B)`` with the adapter in parallel with a block f of equal input and
  output width (the paper's feed-forward block); KronA^B_res adds ``s_res * x``.

Initialisation (one factor zero, so that an adapted model starts as the pre-trained one):

- LoRA: B = 0; A ~ U(-1/sqrt(in), 1/sqrt(in)). Hu et al. describe A as "random Gaussian"; the bound
  used here is what ``kaiming_uniform_(a=sqrt(5))`` gives with fan-in = in, the default of
  ``nn.Linear`` and of LoRA's reference code. Any random A works: it only sets the starting scale of
  B's gradient.
- KronA (all variants): B = 0; A ~ U(-1/sqrt(a1), 1/sqrt(a1)) (the same rule, A's fan-in being a1,
  the axis of the reshaped input it contracts). Edalati et al. zero one Kronecker factor for the same
  reason LoRA zeroes B (krona_lora.md); which factor is zero is our choice. Note that with B = 0 the
  gradient of A is 0 on the first step (it is proportional to B) while B's is not, exactly as for LoRA.
  KronA^B_res is not the block at initialisation: it adds ``s_res * x`` from the start (a fixed,
  non-trainable residual, by the paper's definition).

The default KronA factor shape (``choose_factor_shape``): a1 = the largest divisor of in that is at
most sqrt(in), a2 = the same for out (so a1 <= b1, a2 <= b2). Among the factorisations d = a b, this
one has a and b closest to sqrt(d): for a <= sqrt(d) <= d / a, the distance d / a - sqrt(d) is never
less than sqrt(d) - a, so the pair with the largest a <= sqrt(d) is the closest, and the smaller
factor goes to A. Examples: 768 -> 24 x 32, 384 -> 16 x 24, 12 -> 3 x 4, a prime p -> 1 x p.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Literal, Sequence

import torch
from torch import nn

AdapterKind = Literal["lora", "krona", "krona_b", "krona_b_res"]
KINDS: tuple[str, ...] = ("lora", "krona", "krona_b", "krona_b_res")

# The keyword settings each kind takes in ``apply_adapters`` (passed on to its wrapper).
SETTINGS: dict[str, tuple[str, ...]] = {
    "lora": ("rank", "alpha", "dropout"),
    "krona": ("a_shape", "scale", "dropout"),
    "krona_b": ("a_shape", "scale", "dropout"),
    "krona_b_res": ("a_shape", "scale", "residual_scale", "dropout"),
}


# ----------------------------------------------------------------------------------- Kronecker algebra


def largest_divisor_at_most_sqrt(d: int) -> int:
    """The largest divisor a of ``d`` with a * a <= d (1 for a prime, sqrt(d) for a perfect square)."""
    if d < 1:
        raise ValueError(f"a width must be a positive integer; got {d}")
    for a in range(math.isqrt(d), 0, -1):
        if d % a == 0:
            return a
    return 1  # unreachable: 1 divides d


def choose_factor_shape(in_features: int, out_features: int) -> tuple[int, int]:
    """The default shape (a1, a2) of KronA's factor A for an (in -> out) layer: the factorisations
    closest to square roots, a1 = the largest divisor of ``in_features`` <= sqrt(in_features) and a2 the
    same for ``out_features``; B is then (in / a1) x (out / a2). See the module docstring."""
    return largest_divisor_at_most_sqrt(in_features), largest_divisor_at_most_sqrt(out_features)


def factor_shapes(in_features: int, out_features: int, a_shape: Sequence[int] | None) -> tuple[tuple[int, int], tuple[int, int]]:
    """((a1, a2), (b1, b2)) for an (in -> out) KronA update; ``a_shape`` None picks the default.

    Raises ``ValueError`` when a1 does not divide ``in_features`` or a2 does not divide ``out_features``."""
    if a_shape is None:
        a1, a2 = choose_factor_shape(in_features, out_features)
    else:
        if len(a_shape) != 2:
            raise ValueError(f"a_shape must be (a1, a2); got {tuple(a_shape)}")
        a1, a2 = int(a_shape[0]), int(a_shape[1])
        if a1 < 1 or a2 < 1 or in_features % a1 or out_features % a2:
            raise ValueError(
                f"a_shape ({a1}, {a2}) must divide the layer's (in, out) = ({in_features}, {out_features}): "
                f"a1 | in and a2 | out"
            )
    return (a1, a2), (in_features // a1, out_features // a2)


def kron_matmul(x: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``x @ (A ⊗ B)`` for x (..., a1 b1), A (a1 x a2), B (b1 x b2), without forming A ⊗ B.

    Index convention (torch.kron's): (A ⊗ B)[i b1 + k, j b2 + l] = A[i, j] B[k, l]. Hence

        (x (A ⊗ B))[j b2 + l] = sum_{i, k} x[i b1 + k] A[i, j] B[k, l] = (A^T X B)[j, l]

    with X[i, k] = x[i b1 + k], i.e. x reshaped row-major to (a1, b1), and the (a2, b2) result flattened
    row-major (krona_lora.md). Cost per row: a2 a1 b1 + a2 b1 b2 (or a1 b1 b2 + a2 a1 b2, whichever
    order is cheaper) multiply-adds instead of (a1 b1)(a2 b2) for the dense product.
    """
    a1, a2 = a.shape
    b1, b2 = b.shape
    if x.shape[-1] != a1 * b1:
        raise ValueError(f"input width {x.shape[-1]} is not a1 * b1 = {a1} * {b1}")
    lead = x.shape[:-1]
    matrix = x.reshape(*lead, a1, b1)  # X[..., i, k] = x[..., i * b1 + k]
    if a2 * a1 * b1 + a2 * b1 * b2 <= a1 * b1 * b2 + a2 * a1 * b2:
        product = (a.transpose(0, 1) @ matrix) @ b  # (a2, a1) @ (..., a1, b1) -> (..., a2, b1) @ (b1, b2)
    else:
        product = a.transpose(0, 1) @ (matrix @ b)  # (..., a1, b2) first
    return product.reshape(*lead, a2 * b2)  # y[..., j * b2 + l] = Y[..., j, l]


def _uniform_(tensor: torch.Tensor, fan_in: int) -> None:
    """U(-1/sqrt(fan_in), 1/sqrt(fan_in)) in place: ``kaiming_uniform_(a=sqrt(5))`` with this fan-in,
    given explicitly because torch infers the fan-in of a 2-D tensor from its second dimension."""
    bound = 1.0 / math.sqrt(fan_in)
    with torch.no_grad():
        tensor.uniform_(-bound, bound)


def _dropout(p: float) -> nn.Module:
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout must be in [0, 1); got {p}")
    return nn.Dropout(p) if p > 0 else nn.Identity()


def _check_linear(module: nn.Module, wrapper: str) -> nn.Linear:
    if not isinstance(module, nn.Linear):
        raise ValueError(f"{wrapper} wraps an nn.Linear; got {type(module).__name__}")
    return module


# ----------------------------------------------------------------------------------- wrappers


class LoRALinear(nn.Module):
    """A frozen ``nn.Linear`` plus a low-rank update: ``base(x) + (alpha / r) * (dropout(x) A) B``.

    ``lora_A`` (in x r) starts U(-1/sqrt(in), 1/sqrt(in)) and ``lora_B`` (r x out) zero (Hu et al. 2021),
    so the wrapper starts equal to the base. ``alpha`` None means alpha = r (scaling 1, Hu et al.'s
    "set alpha to the first r we try"). Dropout applies to the adapter's input only.
    """

    def __init__(self, base: nn.Linear, *, rank: int = 8, alpha: float | None = None, dropout: float = 0.0):
        super().__init__()
        self.base = _check_linear(base, "LoRALinear")
        if int(rank) != rank or rank < 1:
            raise ValueError(f"rank must be a positive integer; got {rank}")
        self.rank = int(rank)
        self.alpha = float(rank if alpha is None else alpha)
        self.scaling = self.alpha / self.rank
        self.base.requires_grad_(False)
        weight = base.weight
        self.lora_A = nn.Parameter(torch.empty(base.in_features, self.rank, dtype=weight.dtype, device=weight.device))
        self.lora_B = nn.Parameter(torch.zeros(self.rank, base.out_features, dtype=weight.dtype, device=weight.device))
        _uniform_(self.lora_A, base.in_features)
        self.dropout = _dropout(dropout)

    def update(self) -> torch.Tensor:
        """The dense (in, out) update M = (alpha / r) A B, acting as ``x @ M``."""
        return self.scaling * (self.lora_A @ self.lora_B)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + self.scaling * ((self.dropout(x) @ self.lora_A) @ self.lora_B)

    def extra_repr(self) -> str:
        return f"rank={self.rank}, alpha={self.alpha:g}"


class KronALinear(nn.Module):
    """A frozen ``nn.Linear`` plus a Kronecker update: ``base(x) + s * dropout(x) (A ⊗ B)``.

    A (a1 x a2) and B (b1 x b2) with a1 b1 = in, a2 b2 = out; ``a_shape`` = (a1, a2), None for
    ``choose_factor_shape``. ``krona_B`` starts zero and ``krona_A`` U(-1/sqrt(a1), 1/sqrt(a1)), so the
    wrapper starts equal to the base (Edalati et al. 2022). The product is ``kron_matmul``: A ⊗ B is
    never formed while training.
    """

    def __init__(self, base: nn.Linear, *, a_shape: Sequence[int] | None = None, scale: float = 1.0, dropout: float = 0.0):
        super().__init__()
        self.base = _check_linear(base, "KronALinear")
        (a1, a2), (b1, b2) = factor_shapes(base.in_features, base.out_features, a_shape)
        self.scale = float(scale)
        self.base.requires_grad_(False)
        weight = base.weight
        self.krona_A = nn.Parameter(torch.empty(a1, a2, dtype=weight.dtype, device=weight.device))
        self.krona_B = nn.Parameter(torch.zeros(b1, b2, dtype=weight.dtype, device=weight.device))
        _uniform_(self.krona_A, a1)
        self.dropout = _dropout(dropout)

    def update(self) -> torch.Tensor:
        """The dense (in, out) update M = s (A ⊗ B), acting as ``x @ M`` (formed for merging only)."""
        return self.scale * torch.kron(self.krona_A, self.krona_B)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + self.scale * kron_matmul(self.dropout(x), self.krona_A, self.krona_B)

    def extra_repr(self) -> str:
        return f"A={tuple(self.krona_A.shape)}, B={tuple(self.krona_B.shape)}, scale={self.scale:g}"


def block_width(block: nn.Module) -> int:
    """The width d of a block mapping (..., d) -> (..., d): the ``in_features`` of its first
    ``nn.Linear`` and the ``out_features`` of its last, in registration order (``block.modules()``,
    which is execution order for ``nn.Sequential`` and the usual feed-forward blocks); the block
    itself if it is one. Raises ``ValueError`` if it has no ``nn.Linear`` or the two widths differ."""
    linears = [m for m in block.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError(f"cannot tell the width of {type(block).__name__}: it has no nn.Linear")
    d_in, d_out = linears[0].in_features, linears[-1].out_features
    if d_in != d_out:
        raise ValueError(
            f"KronA^B needs a block with equal input and output width; {type(block).__name__} maps {d_in} -> {d_out}"
        )
    return d_in


class ParallelKronA(nn.Module):
    """A frozen block f: (..., d) -> (..., d) with a Kronecker adapter in parallel (KronA^B):
    ``f(x) + s * dropout(x) (A ⊗ B)``, plus ``s_res * x`` when ``residual_scale`` is not None (KronA^B_res).

    A (a1 x a2), B (b1 x b2) with a1 b1 = a2 b2 = d; initialised as in ``KronALinear`` (B = 0), so
    KronA^B starts equal to f and KronA^B_res to f(x) + s_res x. ``width`` None reads d from the
    block (``block_width``). The residual is a fixed connection: ``residual_scale`` does not train.
    """

    def __init__(
        self,
        block: nn.Module,
        width: int | None = None,
        *,
        a_shape: Sequence[int] | None = None,
        scale: float = 1.0,
        residual_scale: float | None = None,
        dropout: float = 0.0,
    ):
        super().__init__()
        self.block = block
        self.width = block_width(block) if width is None else int(width)
        (a1, a2), (b1, b2) = factor_shapes(self.width, self.width, a_shape)
        self.scale = float(scale)
        self.residual_scale = None if residual_scale is None else float(residual_scale)
        self.block.requires_grad_(False)
        reference = next(block.parameters(), None)
        kwargs: dict[str, Any] = {} if reference is None else {"dtype": reference.dtype, "device": reference.device}
        self.krona_A = nn.Parameter(torch.empty(a1, a2, **kwargs))
        self.krona_B = nn.Parameter(torch.zeros(b1, b2, **kwargs))
        _uniform_(self.krona_A, a1)
        self.dropout = _dropout(dropout)

    def update(self) -> torch.Tensor:
        """The dense (d, d) matrix M = s (A ⊗ B) (+ s_res I), acting as ``x @ M`` (formed for merging only)."""
        matrix = self.scale * torch.kron(self.krona_A, self.krona_B)
        if self.residual_scale is not None:
            matrix = matrix + self.residual_scale * torch.eye(self.width, dtype=matrix.dtype, device=matrix.device)
        return matrix

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.block(x) + self.scale * kron_matmul(self.dropout(x), self.krona_A, self.krona_B)
        if self.residual_scale is not None:
            y = y + self.residual_scale * x
        return y

    def extra_repr(self) -> str:
        res = "" if self.residual_scale is None else f", residual_scale={self.residual_scale:g}"
        return f"width={self.width}, A={tuple(self.krona_A.shape)}, B={tuple(self.krona_B.shape)}, scale={self.scale:g}{res}"


class MergedParallel(nn.Module):
    """``block(x) + linear(x)``: a merged ``ParallelKronA``.

    KronA^B's adapter sits beside a nonlinear block, so it cannot be folded into the block's weights;
    instead the Kronecker product is formed once, at merging, into a plain bias-free ``nn.Linear``
    (weight M^T), and inference computes no Kronecker product."""

    def __init__(self, block: nn.Module, linear: nn.Linear):
        super().__init__()
        self.block = block
        self.linear = linear

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x) + self.linear(x)


ADAPTER_TYPES = (LoRALinear, KronALinear, ParallelKronA)


# ----------------------------------------------------------------------------------- apply and merge


@dataclass
class AdapterReport:
    """What ``apply_adapters`` did.

    - ``adapted``: qualified names of the wrapped modules; ``kept_trainable``: those of the modules left
      fully trainable (the task head).
    - ``base_params``: parameters of the model before adapting; ``adapter_params``: the adapters' own
      (A and B factors); ``trainable``: adapter parameters plus those of ``kept_trainable`` modules;
      ``total`` = ``base_params + adapter_params``, every parameter of the adapted model.
    - ``fraction`` = ``trainable / total``: the share of the adapted model's parameters that train,
      every parameter counted once (tied or shared parameters too; buffers are not parameters).
      ``percent`` is 100 x that. (Papers often divide by ``base_params`` instead; for a real model the
      two differ by well under 1% of the value, since adapters are a tiny share.)
    """

    kind: str
    adapted: list[str]
    kept_trainable: list[str]
    base_params: int
    adapter_params: int
    trainable: int
    total: int
    fraction: float
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def percent(self) -> float:
        """Trainable share in percent, as the papers report it."""
        return 100.0 * self.fraction


def _unique_parameters(parameters: Iterable[nn.Parameter]) -> list[nn.Parameter]:
    seen: set[int] = set()
    unique = []
    for parameter in parameters:
        if id(parameter) not in seen:
            seen.add(id(parameter))
            unique.append(parameter)
    return unique


def _count(parameters: Iterable[nn.Parameter]) -> int:
    return sum(p.numel() for p in _unique_parameters(parameters))


def _last(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def _inside(name: str, prefixes: Iterable[str]) -> bool:
    """Whether qualified ``name`` is one of ``prefixes`` or lies inside one."""
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _replace(model: nn.Module, name: str, new: nn.Module) -> None:
    """Put ``new`` at qualified ``name`` (attributes, ``nn.Sequential`` indices and ``ModuleDict`` keys alike)."""
    parent_name, _, attribute = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, attribute, new)


def _wrapper(kind: str, module: nn.Module, name: str, settings: dict[str, Any]) -> nn.Module:
    if kind in ("lora", "krona") and not isinstance(module, nn.Linear):
        raise ValueError(f"{kind} adapts nn.Linear modules; {name!r} is a {type(module).__name__}")
    try:
        if kind == "lora":
            return LoRALinear(module, **settings)
        if kind == "krona":
            return KronALinear(module, **settings)
        return ParallelKronA(module, **settings)
    except ValueError as err:
        raise ValueError(f"cannot adapt {name!r} with {kind}: {err}") from None


def apply_adapters(
    model: nn.Module,
    kind: AdapterKind,
    targets: Sequence[str],
    *,
    keep_trainable: Sequence[str] = ("head",),
    **settings: Any,
) -> AdapterReport:
    """Freeze ``model`` and wrap, in place, each submodule whose attribute name is in ``targets``.

    - ``kind``: ``lora`` and ``krona`` wrap ``nn.Linear`` modules (``LoRALinear``, ``KronALinear``);
      ``krona_b`` and ``krona_b_res`` wrap any block of equal input and output width with
      ``ParallelKronA`` (``krona_b_res``: with ``residual_scale``, default 1.0).
    - ``targets``: attribute names, the last component of a qualified name (``"query"`` matches
      ``layers.0.attention.query``); each must name at least one module. A match inside another match
      is left alone (the outer one is wrapped); a module reachable under several names gets one
      wrapper, put at every name.
    - ``keep_trainable``: attribute names of modules that stay fully trainable (the task head); targets
      inside them are not wrapped, since they train in full anyway.
    - ``settings``: the wrapper's keywords, by kind (``SETTINGS``): lora ``rank``, ``alpha``,
      ``dropout``; krona and krona_b ``a_shape``, ``scale``, ``dropout``; krona_b_res also
      ``residual_scale``.

    Every parameter of the model is frozen except the adapters' and those of ``keep_trainable``
    modules. Raises ``ValueError`` (leaving the model unchanged) for an unknown kind or setting, a
    target that names no module (the message lists the names there are), a module of the wrong type
    or width, or a model that already has adapters.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown adapter kind {kind!r}; expected one of {', '.join(KINDS)}")
    if isinstance(targets, str) or not all(isinstance(t, str) for t in targets):
        raise ValueError(f"targets must be a list of module names; got {targets!r}")
    if isinstance(keep_trainable, str):
        raise ValueError(f"keep_trainable must be a list of module names; got {keep_trainable!r}")
    unknown = sorted(set(settings) - set(SETTINGS[kind]))
    if unknown:
        raise ValueError(f"{kind} takes the settings {', '.join(SETTINGS[kind])}; unknown: {', '.join(unknown)}")
    if kind == "krona_b_res":
        settings.setdefault("residual_scale", 1.0)
        if settings["residual_scale"] is None:
            raise ValueError("krona_b_res needs a residual_scale (krona_b is the variant without one)")
    existing = [n or "<model>" for n, m in model.named_modules() if isinstance(m, ADAPTER_TYPES)]
    if existing:
        raise ValueError(f"the model already has adapters ({', '.join(existing)}); merge_adapters first")

    # all names under which each module is reachable (remove_duplicate=False keeps shared modules)
    named = [(n, m) for n, m in model.named_modules(remove_duplicate=False) if n]
    kept = [n for n, _ in named if _last(n) in keep_trainable]
    matches: list[tuple[str, nn.Module]] = []
    for name, module in named:
        if _last(name) in targets and not _inside(name, kept) and not _inside(name, [m for m, _ in matches]):
            matches.append((name, module))
    present = {_last(n) for n, _ in named}
    missing = [t for t in targets if t not in present]  # a misspelt target is an error, even beside good ones
    if missing or not matches:
        available = ", ".join(sorted(present - set(keep_trainable))) or "none"
        if missing:
            problem = f"no module named {', '.join(repr(t) for t in missing)} in {type(model).__name__}"
        else:
            problem = f"every module named {', '.join(repr(t) for t in targets)} lies inside a keep_trainable module"
        raise ValueError(f"{problem}; its module names are: {available}")

    base_params = _count(model.parameters())
    flags = {id(p): (p, p.requires_grad) for p in model.parameters()}
    wrappers: dict[int, nn.Module] = {}
    try:
        for name, module in matches:
            if id(module) not in wrappers:
                wrappers[id(module)] = _wrapper(kind, module, name, settings)
    except ValueError:
        for parameter, flag in flags.values():  # a wrapper froze its base: undo
            parameter.requires_grad_(flag)
        raise

    model.requires_grad_(False)
    for name, module in matches:
        _replace(model, name, wrappers[id(module)])
    adapter_parameters = _unique_parameters(
        p for w in wrappers.values() for n, p in w.named_parameters() if n.startswith(("lora_", "krona_"))
    )
    for parameter in adapter_parameters:
        parameter.requires_grad_(True)
    for name in kept:
        model.get_submodule(name).requires_grad_(True)

    parameters = _unique_parameters(model.parameters())
    trainable = sum(p.numel() for p in parameters if p.requires_grad)
    total = sum(p.numel() for p in parameters)
    adapter_params = sum(p.numel() for p in adapter_parameters)
    assert total == base_params + adapter_params
    return AdapterReport(
        kind=kind,
        adapted=[name for name, _ in matches],
        kept_trainable=kept,
        base_params=base_params,
        adapter_params=adapter_params,
        trainable=trainable,
        total=total,
        fraction=trainable / total,
        settings=dict(settings),
    )


def _merged(module: nn.Module) -> nn.Module:
    """The plain module that computes what adapter wrapper ``module`` computes."""
    with torch.no_grad():
        if isinstance(module, (LoRALinear, KronALinear)):
            base = module.base
            # nn.Linear computes x W^T; x (W^T + M) = x (W + M^T)^T
            base.weight.add_(module.update().transpose(0, 1).to(base.weight.dtype))
            return base
        assert isinstance(module, ParallelKronA)
        matrix = module.update()
        linear = nn.Linear(module.width, module.width, bias=False, dtype=matrix.dtype, device=matrix.device)
        linear.weight.copy_(matrix.transpose(0, 1))  # x M = x (M^T)^T
        linear.requires_grad_(False)
        return MergedParallel(module.block, linear)


def merge_adapters(model: nn.Module) -> nn.Module:
    """Fold every adapter of ``model`` back, in place, and return the model.

    ``LoRALinear`` and ``KronALinear`` become their base ``nn.Linear`` with weight ``W + M^T``
    (M the (in, out) update; the base keeps its ``requires_grad``, i.e. stays frozen); ``ParallelKronA``
    becomes ``MergedParallel(f, Linear(d, d, bias=False))`` with the dense M = s (A ⊗ B) (+ s_res I)
    formed once here (KronA^B cannot fold into a nonlinear block, but no Kronecker product is computed
    at inference). A model that is itself a wrapper cannot be replaced in place: its merged module is
    returned instead.
    """
    if isinstance(model, ADAPTER_TYPES):
        return _merged(model)
    merged: dict[int, nn.Module] = {}
    for name, module in list(model.named_modules(remove_duplicate=False)):
        if name and isinstance(module, ADAPTER_TYPES):  # adapters never nest: apply_adapters refuses
            if id(module) not in merged:
                merged[id(module)] = _merged(module)
            _replace(model, name, merged[id(module)])
    return model


__all__ = [
    "ADAPTER_TYPES", "AdapterKind", "AdapterReport", "KINDS", "KronALinear", "LoRALinear", "MergedParallel",
    "ParallelKronA", "SETTINGS", "apply_adapters", "block_width", "choose_factor_shape", "factor_shapes",
    "kron_matmul", "largest_divisor_at_most_sqrt", "merge_adapters",
]
