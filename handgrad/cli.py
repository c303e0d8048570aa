"""The `handgrad` command: a thin layer over the library functions."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from reference.catalog import NAMES
from reference.tolerances import DTYPES


class UsageError(Exception):
    """Bad arguments: reported in one line, exit status 2."""


def _progress(total_desc: str):  # type: ignore[no-untyped-def]
    from tqdm import tqdm

    def wrap(items):  # type: ignore[no-untyped-def]
        return tqdm(items, desc=total_desc, unit="case", file=sys.stderr, leave=False, dynamic_ncols=True)

    return wrap


def cmd_check(args: argparse.Namespace) -> int:
    import handwritten
    from handgrad import configure_for_checking
    from handgrad.cases import build_cases
    from handgrad.check import InProcess
    from handgrad.checking import HEADER, rows, run_all, seed_lines, seed_table, table
    from handgrad.evaluate import available_devices
    from reference.catalog import CATALOG

    configure_for_checking()
    devices = available_devices()
    if args.device:
        unknown = [d for d in args.device if d not in devices]
        if unknown:
            raise UsageError(f"unknown device {', '.join(unknown)}; this machine has: {', '.join(devices)}")
        devices = args.device
    entries = [e for e in CATALOG if not args.function or e.name in args.function]
    cases = build_cases(entries, dtypes=args.dtype, devices=devices)
    if not cases:
        raise UsageError("no case matches the chosen --function/--dtype/--device")
    results = run_all(InProcess(handwritten), cases, strict=args.strict, progress=_progress("check"))
    table_rows = rows(results)
    print(table([r.cells() for r in table_rows], HEADER))
    failed = [r for r in results if not r.ok]
    for r in failed[: args.show]:
        print()
        print(r.message())
    if len(failed) > args.show:
        print(f"\n... and {len(failed) - args.show} more failed cases")
    lines = seed_lines(vars(handwritten))
    print("\nThe seed's worked example (3 inputs, 2 hidden, 1 output), float64:")
    print(seed_table(lines))
    seed_ok = all(s.matches_contract for s in lines)
    n_ok = len(results) - len(failed)
    mode = "strict kink conventions" if args.strict else "any valid subgradient at kinks"
    print(f"\n{n_ok}/{len(results)} cases agree ({mode}); devices: {', '.join(devices)}")
    return 0 if not failed and seed_ok else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="handgrad", description="Check hand-written gradients against JAX's automatic differentiation."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    check = sub.add_parser("check", help="verify the shipped handwritten formulas on every device")
    check.add_argument("--strict", action="store_true", help="require the contract's convention at kinks")
    check.add_argument("--dtype", action="append", choices=DTYPES, help="only this dtype (repeatable)")
    check.add_argument("--device", action="append", help="only this device, e.g. cpu:0, gpu:0, sharded (repeatable)")
    check.add_argument("--function", action="append", choices=NAMES, metavar="NAME", help="only this function")
    check.add_argument("--show", type=int, default=10, help="explain at most this many failed cases (default 10)")
    check.set_defaults(run=cmd_check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except UsageError as exc:
        print(f"handgrad {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("handgrad: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
