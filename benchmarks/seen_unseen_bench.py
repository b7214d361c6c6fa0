"""Which tumors a kept model misses, on phantoms it trained on and on phantoms it never saw.

    python benchmarks/seen_unseen_bench.py --checkpoint CKPT --seed 1 --tag T

Tells two failures apart that the accuracy benchmark's summary cannot: a model that did not
fit its own training tumors (it misses them on training phantoms too) and one that fit them
but does not carry over to new anatomy (it finds them there, misses them on fresh phantoms).
For every tumor it reports size, kind, position, whether it was found after the model's own
post-processing and its peak probability: a miss near probability 0 is the network's, one
with a high peak was removed by post-processing.

- **Seen:** the first ``--cases`` training phantoms of ``lungnet synth --seed S --size 128``,
  the dataset the accuracy benchmark trained the checkpoint on with seed S (case ``i`` of a
  dataset is made from its own seed, so these are the very phantoms it trained on).
- **Unseen:** ``--cases`` phantoms of dataset seed 9100, which no benchmark trains,
  validates or tests on. Nothing here chooses a setting.

Writes ``seen_vs_unseen_tumors_<tag>.json`` with its provenance.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from record import RESULTS_DIR, provenance, write_results
from tumor_table import synthetic_tumors, tally, tumor_rows

UNSEEN_SEED = 9100


def _tumors(predictor, data: Path) -> list[dict]:
    """Every synthetic tumor of ``data``'s training phantoms, as the model sees it."""
    from lungnet.io import read_ct

    rows = []
    for case, tumors in sorted(synthetic_tumors(data).items()):
        ct = read_ct(data / "imagesTr" / f"{case}.nii.gz")
        truth = read_ct(data / "labelsTr" / f"{case}.nii.gz").array
        rows += tumor_rows(case, tumors, ct, truth, predictor.predict_volume(ct))
    return rows


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--checkpoint", required=True, type=Path)
    p.add_argument("--seed", required=True, type=int, help="the dataset seed it trained on")
    p.add_argument("--cases", type=int, default=12, help="phantoms of each kind")
    p.add_argument("--size", type=int, default=128, help="phantom size it trained on")
    p.add_argument("--tag", required=True, help="results file name suffix")
    p.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = p.parse_args()
    if not args.checkpoint.is_file():
        p.exit(2, f"seen_unseen_bench: {args.checkpoint}: not found\n")
    record = provenance(
        seeds={"seen": args.seed, "unseen": UNSEEN_SEED},
        settings={"cases": args.cases, "size": args.size, "checkpoint": str(args.checkpoint)},
    )

    from lungnet.inference import Predictor
    from lungnet.synthetic import write_msd_dataset

    predictor = Predictor(args.checkpoint, device="auto")
    record["postprocess"] = predictor.postprocessing.to_dict()
    with tempfile.TemporaryDirectory() as tmp:
        for name, seed in (("seen", args.seed), ("unseen", UNSEEN_SEED)):
            data = write_msd_dataset(
                Path(tmp) / name, cases=args.cases, seed=seed, size=args.size, workers=2
            )
            rows = _tumors(predictor, data)
            record[name] = {"summary": tally(rows), "tumors": rows}
            print(f"{name}: {json.dumps(record[name]['summary'])}")
    record["benchmark"] = "seen_vs_unseen_tumors"
    print(f"wrote {write_results(f'seen_vs_unseen_tumors_{args.tag}.json', record, args.out)}")


if __name__ == "__main__":
    main()
