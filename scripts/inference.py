"""Seed-compatible inference entry point; `lungnet predict` does the work.

    python scripts/inference.py --input_nifti path/to/patient_ct.nii.gz \
        --checkpoint artifacts/unet_logs/version_0/checkpoints/best.ckpt \
        --output_dir predictions --device cuda

writes predictions/patient_ct_pred.nii.gz. Every `lungnet predict` option is accepted.
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
    sys.exit(main(["predict", *sys.argv[1:]]))
