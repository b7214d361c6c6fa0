"""How kept checkpoints scored on their validation phantoms with the post-processing chosen there.

    python benchmarks/validation_choice.py --tag T CKPT [CKPT ...]

``lungnet train`` (and ``accuracy_bench.py --checkpoint``, which chooses again on another
set) stores every post-processing candidate it scored on the validation phantoms in the
checkpoint. This reads the chosen one's row back: lesion F1, lesion counts and Dice over the
tumor-bearing validation scans. Two models whose post-processing was chosen on the same
validation phantoms (the same ``chosen_on``) can be compared this way without a test set.
Writes ``validation_choice_<tag>.json`` with its provenance.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from record import RESULTS_DIR, provenance, write_results


def chosen_row(checkpoint: Path) -> dict:
    """The stored post-processing of ``checkpoint`` and its validation scores."""
    import torch

    from lungnet.inference.postprocess import PostProcessing

    if not checkpoint.is_file():
        raise SystemExit(f"validation_choice: {checkpoint}: not found")
    hyper = torch.load(checkpoint, map_location="cpu", weights_only=True)["hyper_parameters"]
    entry = hyper.get("postprocess")
    if not entry or "candidates" not in entry:
        raise SystemExit(f"validation_choice: {checkpoint}: holds no scored post-processing")
    chosen = PostProcessing.from_dict(entry)
    row = next(r for r in entry["candidates"] if PostProcessing.from_dict(r) == chosen)
    return {"checkpoint": str(checkpoint), "chosen_on": entry["chosen_on"], **row}


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("checkpoints", nargs="+", type=Path)
    p.add_argument("--tag", required=True, help="results file name suffix")
    p.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = p.parse_args()
    record = provenance()
    rows = [chosen_row(c) for c in args.checkpoints]
    for row in rows:
        print(
            f"{Path(row['checkpoint']).name}: lesion F1 {row['lesion_f1']:.3f} "
            f"(TP {row['lesion_tp']}, FP {row['lesion_fp']}, FN {row['lesion_fn']}), "
            f"Dice over tumor-bearing scans {row['dice_tumor_cases']:.3f}"
        )
    record.update(benchmark="validation_choice", rows=rows)
    print(f"wrote {write_results(f'validation_choice_{args.tag}.json', record, args.out)}")


if __name__ == "__main__":
    main()
