"""predict --devices N: the scans are shared out over processes and each is written once."""

from __future__ import annotations

import re
import subprocess
import sys

from helpers import save_nifti, tiny_case
from lungnet.inference.sharding import Shard


def test_each_rank_takes_every_world_size_th_scan_and_together_all_once():
    scans = [f"s{i}" for i in range(7)]
    parts = [Shard(rank=r, world_size=3).take(scans) for r in range(3)]
    assert parts == [["s0", "s3", "s6"], ["s1", "s4"], ["s2", "s5"]]
    assert sorted(s for part in parts for s in part) == scans


def test_two_cpu_processes_write_each_mask_exactly_once(checkpoint, tmp_path):
    scans = tmp_path / "scans"
    for i in range(3):
        save_nifti(scans / f"lung_{i:03d}.nii.gz", tiny_case(i)[0])
    out = tmp_path / "out"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "lungnet",
            "predict",
            "-i",
            str(scans),
            "--checkpoint",
            str(checkpoint),
            "-o",
            str(out),
            "--device",
            "cpu",
            "--devices",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    # The processes share one pipe, so their lines may run into each other.
    done = sorted(re.findall(r"done:\s+(\S+_pred\.nii\.gz)", proc.stdout))
    assert done == [str(out / f"lung_{i:03d}_pred.nii.gz") for i in range(3)], (
        proc.stdout + proc.stderr
    )
    assert "3 scan(s) on 2 processes: 3 ok, 0 failed" in proc.stdout
    assert sorted(p.name for p in out.iterdir()) == [f"lung_{i:03d}_pred.nii.gz" for i in range(3)]
