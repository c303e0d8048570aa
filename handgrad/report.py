"""The outcome of `handgrad.verify`: `Report`, its verdict and its text.

`str(report)` is what `handgrad check` prints for the catalog: the table of cases
(handgrad/table.py), the explanation of each failing case, the worst first (the one
furthest outside its tolerance, `CaseResult.ratio`), and a one-line summary with the number
of elements not compared (where f is not finite or its autodiff is NaN).
"""

from __future__ import annotations

from collections.abc import Sequence

from handgrad.results import CaseResult


class Report:
    """The outcome of `verify`: `ok`, the case results, and `str(report)`, the table and
    the explanation of each failing case as `handgrad check` prints them."""

    def __init__(
        self, name: str, results: Sequence[CaseResult], show: int = 5, about: str = "", notice: str = ""
    ) -> None:
        self.name = name
        from handgrad.hints import related

        self.results = tuple(related(results))  # one cause, not one per transform or tier
        self.show = show
        self.about = about
        """How grad was read (as a VJP for a non-scalar f), said under a failure."""
        self.notice = notice
        """What was not checked, said whatever the outcome (f's own rule, where grad= replaced it)."""

    @property
    def ok(self) -> bool:
        """Every case agrees, and at least one element was compared: where f is not finite
        (or its autodiff is NaN) at every input drawn, nothing was checked, and that is not
        agreement."""
        return all(r.ok for r in self.results) and not self.nothing_compared

    @property
    def nothing_compared(self) -> bool:
        """Every element of every case was left uncompared (`unchecked`), or no case ran."""
        return all(r.nothing_compared for r in self.results)

    @property
    def failures(self) -> list[CaseResult]:
        return [r for r in self.results if not r.ok]

    @property
    def worst(self) -> CaseResult | None:
        """The failing case furthest outside its tolerance (None when every case passes)."""
        failed = self.failures
        return max(failed, key=lambda r: r.ratio) if failed else None

    @property
    def unchecked(self) -> int:
        return sum(r.unchecked for r in self.results)

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        from handgrad.table import check_table

        failed = self.failures
        worst = self.worst
        ordered = ([worst] if worst is not None else []) + [r for r in failed if r is not worst]
        parts = [check_table(self.results)]
        parts += [r.message() for r in ordered[: self.show]]
        if len(failed) > self.show:
            parts.append(f"... and {len(failed) - self.show} more failed cases")
        if failed and self.about:
            parts.append(self.about)
        if self.notice:
            parts.append(self.notice)
        summary = f"{self.name}: {len(self.results) - len(failed)}/{len(self.results)} cases agree"
        if self.nothing_compared:
            summary = (
                f"{self.name}: NOT CHECKED: no element of any of the {len(self.results)} cases was compared: f is "
                "not finite, or its autodiff is NaN, at every input drawn. Give example arguments inside f's "
                "domain (the `given` family uses them as they are) or `fixed=` for the arguments that set it"
            )
        elif self.unchecked:
            summary += (
                f"; {self.unchecked} elements not compared where f is not finite, its autodiff is NaN, or the "
                "input is a singular point in that dtype"
            )
        parts.append(summary)
        return "\n\n".join(parts)

    def __repr__(self) -> str:
        return f"<Report {self.name}: {'ok' if self.ok else f'{len(self.failures)} failed'} of {len(self.results)}>"
