"""GPU throughput of the CIFAR distillation path: `specs/kd/cifar10.yaml` reduced to a few epochs on
a local file in the CIFAR hub schema, printing training images per second for the teacher
(ResNet-110) and the student (ResNet-8) and the GPU utilisation sampled by nvidia-smi.

    .venv/bin/python tests/perf/cifar_gpu.py [--epochs 2] [--train-size 50000]

The images are scikit-learn's real digits, upscaled to 32x32 RGB and tiled to the requested
size: a throughput check, not a benchmark result (the results go to a temporary folder).
Runs on the CPU too (slowly), which is how it is checked where no GPU is lent.
"""
from __future__ import annotations

import argparse
import io
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def write_cifar_parquet(folder: Path, train_size: int, test_size: int) -> None:
    """Parquet files in the layout and schema of the hub's uoft-cs/cifar10 (img PNG bytes, label)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    tiles = [Image.fromarray((image * 15).astype(np.uint8)).resize((32, 32)).convert("RGB") for image in digits.images]
    encoded = []
    for tile in tiles:
        buffer = io.BytesIO()
        tile.save(buffer, format="PNG")
        encoded.append(buffer.getvalue())
    (folder / "plain_text").mkdir(parents=True)
    for split, size in (("train", train_size), ("test", test_size)):
        index = np.arange(size) % len(encoded)
        table = pa.table({
            "img": [{"bytes": encoded[i], "path": None} for i in index],
            "label": pa.array(digits.target[index], type=pa.int64()),
        })
        pq.write_table(table, folder / "plain_text" / f"{split}-00000-of-00001.parquet")


def sample_gpu(samples: list[float], stop: threading.Event) -> None:
    if shutil.which("nvidia-smi") is None:
        return
    while not stop.is_set():
        out = subprocess.run(["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits"], capture_output=True, text=True)
        if out.returncode == 0 and out.stdout.strip():
            samples.append(float(out.stdout.split()[0]))
        time.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--train-size", type=int, default=50000)
    parser.add_argument("--test-size", type=int, default=10000)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data, results = Path(tmp) / "cifar", Path(tmp) / "results"
        start = time.perf_counter()
        write_cifar_parquet(data, args.train_size, args.test_size)
        print(f"wrote {args.train_size}+{args.test_size} images in CIFAR parquet schema in {time.perf_counter() - start:.1f} s")
        samples: list[float] = []
        stop = threading.Event()
        sampler = threading.Thread(target=sample_gpu, args=(samples, stop), daemon=True)
        sampler.start()
        command = [
            sys.executable, "-m", "runners.cli", "run", str(ROOT / "specs/kd/cifar10.yaml"), "--results", str(results),
            "--device", args.device, "--set", f"dataset.params.path={data}", "--set", f"task.params.epochs={args.epochs}",
            "--set", f"task.params.teacher_epochs={args.epochs}", "--set", "seeds=[0]",
            # a schedule that completes in the few epochs (validation refuses one that cannot)
            "--set", f"task.params.t_max={args.epochs}", "--set", f"task.params.psi_ramp={max(1, args.epochs - 1)}",
            "--set", "matrix.task\\.params\\.method=[continuation_kd]",
        ]
        start = time.perf_counter()
        proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        wall = time.perf_counter() - start
        stop.set()
        print(proc.stdout + proc.stderr)
        for path in sorted(results.glob("runs/*/record.json")):
            record = json.loads(path.read_text())
            info = record["info"]
            print(
                f"{record['method']:>16} {record['model']:>10} on {record['device']} ({record['provenance'].get('device_name')}): "
                f"{info.get('train_images_per_s', float('nan')):,.0f} train images/s, "
                f"test accuracy {record['metrics'].get('test', {}).get('accuracy', float('nan')):.3f}, run {record['duration_s']:.1f} s"
            )
        if samples:
            busy = [s for s in samples if s > 0]
            print(f"GPU utilisation: mean {np.mean(samples):.0f}% over {len(samples)} samples, {np.mean(busy) if busy else 0:.0f}% while busy, max {max(samples):.0f}%")
        else:
            print("GPU utilisation: nvidia-smi not available")
        print(f"whole sweep wall time {wall:.1f} s (process start, data load and decode included)")


if __name__ == "__main__":
    main()
