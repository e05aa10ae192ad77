"""Train the evaluator CNN whose features FID/KID/precision/recall use; ship it to checkpoints/.

    python scripts/train_evaluator.py --dataset mnist --data-root ../shared/data
    python scripts/train_evaluator.py --dataset fashion-mnist --data-root ../shared/data --epochs 6
"""
import argparse
import sys
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gen_core.evaluation.evaluator import evaluator_path, save_evaluator, train_evaluator  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="mnist", choices=["mnist", "fashion-mnist", "kmnist"])
    parser.add_argument("--data-root", default=None, help="torchvision-layout data folder")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="default: checkpoints/evaluator-<dataset>.pt")
    args = parser.parse_args()
    model, meta = train_evaluator(args.dataset, args.data_root, epochs=args.epochs, seed=args.seed)
    out = save_evaluator(model, args.out or evaluator_path(args.dataset), meta)
    print(f"saved {out} ({out.stat().st_size / 1e6:.2f} MB): test accuracy {meta['test_accuracy']:.4f}")


if __name__ == "__main__":
    main()
