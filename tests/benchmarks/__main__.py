"""Runs every `tests/benchmarks/bench_*.py` module's `main()`, in name order (`make bench`)."""

import importlib
import sys
from pathlib import Path


def main() -> int:
    modules = sorted(path.stem for path in Path(__file__).parent.glob("bench_*.py"))
    if not modules:
        print("No benchmarks yet: add tests/benchmarks/bench_<name>.py with a main().")
        return 0
    for name in modules:
        print(f"== {name}", flush=True)
        importlib.import_module(f"{__package__}.{name}").main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
