"""Test-wide settings: nothing may touch the network, and hub look-ups must fail at once."""
import os
from pathlib import Path

for variable in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "HF_EVALUATE_OFFLINE", "TRANSFORMERS_OFFLINE"):
    os.environ[variable] = "1"

PROJECT = Path(__file__).resolve().parent.parent
