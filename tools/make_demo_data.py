"""Generate the DemoSplices set (see mmiml/datasets/demo_splices.py).

Example: python tools/make_demo_data.py data/demo_splices --num-train 800 --num-test 80
"""

import argparse
import time

from mmiml.datasets.demo_splices import make_demo_splices
from mmiml.utils.cli import run_cli


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out_dir")
    parser.add_argument("--num-train", type=int, default=800)
    parser.add_argument("--num-test", type=int, default=80)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    start = time.perf_counter()
    manifest = make_demo_splices(args.out_dir, num_train=args.num_train, num_test=args.num_test,
                                 size=args.size, seed=args.seed)
    print(f"wrote {manifest} ({args.num_train} train + {args.num_test} test) "
          f"in {time.perf_counter() - start:.1f}s")


if __name__ == "__main__":
    run_cli(main)
