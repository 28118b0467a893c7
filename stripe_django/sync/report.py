"""What a sync run did, per listed type and account, and its summary table."""

from __future__ import annotations

import textwrap
import time
from datetime import datetime
from dataclasses import dataclass, field

# Status of one (type, account) shard.
OK = "ok"
UNAVAILABLE = "unavailable"  # 403 / 404: the key may not read it, or it is not enabled/served
FAILED = "failed"
SKIPPED = "skipped"  # not run (stopped early, or not listable in this account)
RUNNING = "running"
PENDING = "pending"


@dataclass
class TypeReport:
    """One (listed type, account) of a run. Counts are of rows of the type's objects."""

    name: str
    account: str | None = None
    mode: str = ""  # full, resumed, incremental, relisted, events
    status: str = PENDING
    fetched: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    requests: int = 0
    http_status: int | None = None  # of the answer that made it unavailable
    started: float | None = None
    finished: float | None = None
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        if self.started is None:
            return 0.0
        return (self.finished or time.monotonic()) - self.started

    @property
    def rate(self) -> float:
        seconds = self.seconds
        return self.fetched / seconds if seconds > 0 else 0.0

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)


COUNTS = ("fetched", "created", "updated", "unchanged", "failed", "requests")


@dataclass
class TypeTotals:
    """The lines of one type folded together across the accounts of a run: its counts,
    how many accounts ended how (``"ok (events)"`` -> 5,000) and each note with the
    number of accounts it concerns."""

    name: str
    fetched: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    requests: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    notes: dict[str, int] = field(default_factory=dict)

    def add(self, t: TypeReport) -> None:
        for k in COUNTS:
            setattr(self, k, getattr(self, k) + getattr(t, k))
        label = t.status if not t.mode else f"{t.status} ({t.mode})"
        self.statuses[label] = self.statuses.get(label, 0) + 1
        for note in t.notes:
            self.notes[note] = self.notes.get(note, 0) + 1


@dataclass
class SyncReport:
    """Returned by :func:`stripe_django.sync.sync`.

    ``types``: a line per (type, account). A run over many accounts folds the lines of
    each batch of accounts into ``folded`` (per type) once the batch is done, keeping in
    ``types`` only the lines that failed: its memory grows with the types and the
    failures, not with the accounts (``sync(detail=True)`` keeps every line).
    """

    types: list[TypeReport] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    requests: int = 0
    throttled: int = 0
    interrupted: bool = False
    key_refused: bool = False  # every list answered 403
    # shards skipped because another worker holds their cursor (stripe_sync --enqueue)
    busy: list[TypeReport] = field(default_factory=list)
    # lines folded per type (see fold), and the accounts they were of
    folded: dict[str, TypeTotals] = field(default_factory=dict)
    folded_accounts: set[str | None] = field(default_factory=set)

    def fold(self, lines: list[TypeReport]) -> None:
        """Fold ``lines`` (finished lines of this report) into ``folded``; those that
        failed stay in ``types`` (the summary names their accounts and first error)."""
        gone = set()
        for t in lines:
            if t.status == FAILED or t.failed:
                continue
            self.folded.setdefault(t.name, TypeTotals(t.name)).add(t)
            self.folded_accounts.add(t.account)
            gone.add(id(t))
        if gone:
            self.types = [t for t in self.types if id(t) not in gone]

    def close_enqueued(self, run_id: int, starts: list[datetime], ends: list[datetime]) -> None:
        """The span and the "not finished" note of a report assembled from an enqueued
        run's shards (``starts``/``ends``: the datetimes its shards started and ended)."""
        if starts:
            self.seconds = (max(ends) - min(starts)).total_seconds()
        left = [t for t in self.types if t.status in ("pending", "running")]
        if left:
            self.notes.append(f"run {run_id} is not finished: {len(left)} shard(s) queued or running")

    @property
    def accounts(self) -> int:
        """The accounts the run's lines are of (the platform counts as one)."""
        return len({t.account for t in self.types} | self.folded_accounts)

    @property
    def ok(self) -> bool:
        """Nothing failed (unavailable types are not failures, unless all are, with 403)."""
        return (not self.interrupted and not self.key_refused
                and all(t.status != FAILED and not t.failed for t in self.types))

    @property
    def failed(self) -> list[TypeReport]:
        return [t for t in self.types if t.status == FAILED or t.failed]

    @property
    def unavailable(self) -> list[TypeReport]:
        return [t for t in self.types if t.status == UNAVAILABLE]

    def get(self, name: str, account: str | None = None) -> TypeReport | None:
        for t in self.types:
            if t.name == name and t.account == account:
                return t
        return None

    def totals(self) -> dict[str, int]:
        keys = ("fetched", "created", "updated", "unchanged", "failed")
        return {k: sum(getattr(t, k) for t in self.types)
                + sum(getattr(f, k) for f in self.folded.values()) for k in keys}


def _fmt_row(cells: list[str], widths: list[int], right: set[int]) -> str:
    return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                     for i, (c, w) in enumerate(zip(cells, widths))).rstrip()


# A run over more accounts than this is summed up per type (``verbose``: a line per
# type and account all the same).
SUMMARY_DETAIL_ACCOUNTS = 10
# Accounts named per failing type in a summed-up summary.
SUMMARY_FAILED_ACCOUNTS = 20
# Distinct notes printed in a summed-up summary.
SUMMARY_NOTES = 50


def format_summary(report: SyncReport, *, show_unavailable: bool = True,
                   verbose: bool = False) -> str:
    """The summary table: type, fetched, created, updated, unchanged, failed, seconds; a
    line per type and account, or over more than ``SUMMARY_DETAIL_ACCOUNTS`` accounts
    (unless ``verbose``) a line per type with its totals across them
    (:func:`format_totals`)."""
    if report.folded or (not verbose and report.accounts > SUMMARY_DETAIL_ACCOUNTS):
        return format_totals(report)
    several_accounts = len({t.account for t in report.types}) > 1
    head = ["type"] + (["account"] if several_accounts else []) + [
        "fetched", "created", "updated", "unchanged", "failed", "seconds", "status"]
    rows = []
    shown = [t for t in report.types if t.status not in (UNAVAILABLE, SKIPPED, PENDING)]
    for t in shown:
        status = t.status if not t.mode else f"{t.status} ({t.mode})"
        rows.append([t.name] + ([t.account or "platform"] if several_accounts else []) + [
            f"{t.fetched:,}", f"{t.created:,}", f"{t.updated:,}", f"{t.unchanged:,}",
            f"{t.failed:,}", f"{t.seconds:.1f}", status])
    totals = report.totals()
    rows.append(["total"] + ([""] if several_accounts else []) + [
        f"{totals['fetched']:,}", f"{totals['created']:,}", f"{totals['updated']:,}",
        f"{totals['unchanged']:,}", f"{totals['failed']:,}", f"{report.seconds:.1f}",
        f"{report.requests:,} requests"])
    widths = [max(len(r[i]) for r in [head] + rows) for i in range(len(head))]
    first_num = 2 if several_accounts else 1
    right = set(range(first_num, first_num + 6))
    lines = [_fmt_row(head, widths, right), _fmt_row(["-" * w for w in widths], widths, right)]
    lines += [_fmt_row(r, widths, right) for r in rows[:-1]]
    lines.append(_fmt_row(["-" * w for w in widths], widths, right))
    lines.append(_fmt_row(rows[-1], widths, right))
    for t in shown:
        label = t.name + (f" [{t.account}]" if several_accounts else "")
        for note in t.notes:
            lines.append(f"note: {label}: {note}")
        for error in t.errors[:5]:
            lines.append(f"error: {label}: {error}")
        if len(t.errors) > 5:
            lines.append(f"error: {label}: ... and {len(t.errors) - 5} more")
    unavailable = [t for t in report.types if t.status == UNAVAILABLE]
    if show_unavailable and unavailable:
        lines.append(f"not available ({len(unavailable)}): the key may not read these, the "
                     f"account has not enabled them, or the server does not serve them:")
        by_reason: dict[str, list[str]] = {}
        for t in unavailable:
            label = t.name + (f" [{t.account}]" if several_accounts else "")
            by_reason.setdefault("; ".join(t.notes) or "not available", []).append(label)
        for reason, labels in by_reason.items():
            lines.append(f"  {reason}:")
            lines += textwrap.wrap(", ".join(labels), width=96, initial_indent="    ",
                                   subsequent_indent="    ", break_on_hyphens=False)
    not_run = [t for t in report.types if t.status in (SKIPPED, PENDING) and not t.notes]
    if not_run:
        names = ", ".join(t.name + (f" [{t.account}]" if several_accounts else "") for t in not_run)
        lines += textwrap.wrap(f"not run ({len(not_run)}): {names}", width=100,
                               subsequent_indent="    ", break_on_hyphens=False)
    for note in report.notes:
        lines.append(f"note: {note}")
    if report.throttled:
        lines.append(f"note: the API asked to slow down {report.throttled} time(s) (429)")
    if report.interrupted:
        lines.append("interrupted: the next run resumes after the last stored page")
    return "\n".join(lines)


def format_totals(report: SyncReport) -> str:
    """The summary of a run over many accounts: per type, its totals across them and how
    many accounts ended how; then the accounts behind each failure (the first
    ``SUMMARY_FAILED_ACCOUNTS``, with the first error), each note with the number of
    accounts it concerns, and the types not available. Its length depends on the types,
    not on the accounts."""
    keys = COUNTS
    sums: dict[str, dict[str, int]] = {}
    statuses: dict[str, dict[str, int]] = {}
    failing: dict[str, list[TypeReport]] = {}
    notes: dict[tuple[str, str], int] = {}
    for folded in report.folded.values():
        sums[folded.name] = {k: getattr(folded, k) for k in keys}
        statuses[folded.name] = dict(folded.statuses)
        for note, count in folded.notes.items():
            notes[(folded.name, note)] = count
    for t in report.types:
        row = sums.setdefault(t.name, dict.fromkeys(keys, 0))
        for k in keys:
            row[k] += getattr(t, k)
        label = t.status if not t.mode else f"{t.status} ({t.mode})"
        by_status = statuses.setdefault(t.name, {})
        by_status[label] = by_status.get(label, 0) + 1
        if t.status == FAILED or t.failed:
            failing.setdefault(t.name, []).append(t)
        for note in t.notes:
            notes[(t.name, note)] = notes.get((t.name, note), 0) + 1
    accounts = report.accounts
    head = ["type", "fetched", "created", "updated", "unchanged", "failed", "requests", "accounts"]
    rows = [[name] + [f"{row[k]:,}" for k in keys]
            + [", ".join(f"{n:,} {label}" for label, n in sorted(statuses[name].items(), key=lambda kv: -kv[1]))]
            for name, row in sums.items()]
    totals = report.totals()
    rows.append(["total"] + [f"{totals[k]:,}" for k in keys[:5]]
                + [f"{report.requests:,}", f"{accounts:,} accounts, {report.seconds:.1f} s"])
    widths = [max(len(r[i]) for r in [head] + rows) for i in range(len(head))]
    right = set(range(1, 7))
    rule = _fmt_row(["-" * w for w in widths], widths, right)
    lines = [_fmt_row(head, widths, right), rule]
    lines += [_fmt_row(r, widths, right) for r in rows[:-1]]
    lines += [rule, _fmt_row(rows[-1], widths, right)]
    for name, failed in failing.items():
        shown = ", ".join(t.account or "platform" for t in failed[:SUMMARY_FAILED_ACCOUNTS])
        more = len(failed) - SUMMARY_FAILED_ACCOUNTS
        first_error = next((e for t in failed for e in t.errors), "") or next(
            (n for t in failed for n in t.notes), "")
        lines.append(f"failed: {name} in {len(failed):,} account(s): {shown}"
                     + (f" and {more:,} more" if more > 0 else "")
                     + (f"; first error: {first_error}" if first_error else ""))
    for (name, note), count in list(notes.items())[:SUMMARY_NOTES]:
        lines.append(f"note: {name} ({count:,} account(s)): {note}")
    if len(notes) > SUMMARY_NOTES:
        lines.append(f"note: ... and {len(notes) - SUMMARY_NOTES:,} other note(s)")
    for note in report.notes:
        lines.append(f"note: {note}")
    if report.throttled:
        lines.append(f"note: the API asked to slow down {report.throttled} time(s) (429)")
    if report.interrupted:
        lines.append("interrupted: the next run resumes after the last stored page")
    lines.append("(a line per type and account: --verbosity 2)")
    return "\n".join(lines)
