"""What a verification found, per listed type and account, and its summary table."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..sync.report import SKIPPED, UNAVAILABLE, SyncReport, TypeReport
from .compare import EXTRA, MISSING, STALE, Difference
from .sample import describe_bound

__all__ = ["VerifyTypeReport", "VerifyReport", "format_verify_summary"]


@dataclass
class VerifyTypeReport(TypeReport):
    """One (listed type, account) of a verification. ``fetched`` counts the objects
    Stripe returned; ``compared`` the rows compared (embedded children included)."""

    compared: int = 0
    healed: int = 0
    sampled: int = 0  # --sample: objects retrieved and compared
    sampled_differing: int = 0
    upper_bound: float | None = None
    differences: list[Difference] = field(default_factory=list)

    def _count(self, kind: str) -> int:
        return sum(1 for d in self.differences if d.kind == kind)

    @property
    def missing(self) -> int:
        return self._count(MISSING)

    @property
    def extra(self) -> int:
        return self._count(EXTRA)

    @property
    def stale(self) -> int:
        return self._count(STALE)


@dataclass
class VerifyReport(SyncReport):
    """Returned by :func:`stripe_django.verify.verify`."""

    run: str = ""
    sample: int | None = None
    healing: bool = False

    @property
    def verified(self) -> list[VerifyTypeReport]:
        return [t for t in self.types if isinstance(t, VerifyTypeReport)]

    @property
    def differences(self) -> list[Difference]:
        return [d for t in self.verified for d in t.differences]

    @property
    def clean(self) -> bool:
        """Everything was compared and nothing differs (or all of it was healed)."""
        return self.ok and all(len(t.differences) == t.healed for t in self.verified)


def format_verify_summary(report: VerifyReport, *, shown: int = 10) -> str:
    """The table ``stripe_verify`` prints: a row per (type, account) with its counts,
    then up to ``shown`` differences of each type with their detail."""
    several = len({t.account for t in report.types}) > 1
    head = ["type"] + (["account"] if several else []) + [
        "compared", "missing", "extra", "stale", "healed", "requests", "seconds", "status"]
    rows = []
    listed = [t for t in report.verified if t.status not in (UNAVAILABLE, SKIPPED)]
    for t in listed:
        rows.append([t.name] + ([t.account or "platform"] if several else []) + [
            f"{t.compared:,}", f"{t.missing:,}", f"{t.extra:,}", f"{t.stale:,}", f"{t.healed:,}",
            f"{t.requests:,}", f"{t.seconds:.1f}", t.status])
    widths = [max(len(r[i]) for r in [head] + rows) for i in range(len(head))]
    first = 2 if several else 1

    def line(cells: list[str]) -> str:
        return "  ".join(cell.rjust(w) if first <= i < len(cells) - 1 else cell.ljust(w)
                         for i, (cell, w) in enumerate(zip(cells, widths))).rstrip()

    lines = [line(head), line(["-" * w for w in widths])] + [line(r) for r in rows]
    for t in listed:
        label = t.name + (f" [{t.account or 'platform'}]" if several else "")
        if report.sample is not None:
            lines.append(f"sample: {label}: {describe_bound(t.sampled_differing, t.sampled)}")
        for d in t.differences[:shown]:
            lines.append(f"{d.kind}: {d.object_type} {d.id}: {d.detail}")
        if len(t.differences) > shown:
            lines.append(f"... and {len(t.differences) - shown} more differences in {label}")
        for note in t.notes:
            lines.append(f"note: {label}: {note}")
        for error in t.errors[:5]:
            lines.append(f"error: {label}: {error}")
    unavailable = [t.name + (f" [{t.account or 'platform'}]" if several else "")
                   for t in report.types if t.status == UNAVAILABLE]
    if unavailable:
        lines.append(f"not available ({len(unavailable)}): {', '.join(unavailable)}")
    for note in report.notes:
        lines.append(f"note: {note}")
    total = len(report.differences)
    healed = sum(t.healed for t in report.verified)
    lines.append(f"{total:,} difference(s)" + (f", {healed:,} healed" if report.healing else "")
                 + f"; {report.requests:,} requests in {report.seconds:.1f} s")
    if report.interrupted:
        lines.append("interrupted")
    return "\n".join(lines)
