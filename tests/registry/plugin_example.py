"""A third-party plugin as `podium.plugins` entry points name it: importing it registers a model;
``register_extra`` is a callable entry point that registers one more."""
from torch import nn

from registry import MODELS


@MODELS.register("plugin_linear")
def plugin_linear(num_classes: int, in_channels: int, *, bias: bool = True) -> nn.Module:
    """A linear classifier on flattened pixels, from a plugin."""
    return nn.Sequential(nn.Flatten(), nn.LazyLinear(num_classes, bias=bias))


def register_extra() -> None:
    def plugin_linear_wide(num_classes: int, in_channels: int, *, width: int = 64) -> nn.Module:
        """A one-hidden-layer MLP, registered by calling the plugin's entry point."""
        return nn.Sequential(nn.Flatten(), nn.LazyLinear(width), nn.ReLU(), nn.Linear(width, num_classes))

    MODELS.register("plugin_linear_wide")(plugin_linear_wide)
