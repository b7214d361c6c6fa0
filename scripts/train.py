"""Seed-compatible training entry point; `lungnet train` does the work.

    python scripts/train.py --data_dir ./processed_data --batch_size 16 --max_epochs 50 --gpus 1

writes artifacts/unet_logs/version_N/checkpoints/best.ckpt (+ last.ckpt) and TensorBoard
logs. ``--gpus 0``, or a machine without CUDA, trains on the CPU. Every `lungnet train`
option is accepted.
"""

from __future__ import annotations

import sys
from pathlib import Path

try:
    from lungnet.cli import main
except ModuleNotFoundError:  # run from a source checkout without installation
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from lungnet.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
