"""Progress of a sync run: a live per-type display on a terminal, plain lines elsewhere.

The sync service calls :meth:`Progress.update` from its writer loop (a few times a
second); a display decides itself when to draw.
"""

from __future__ import annotations

import shutil
import sys
import time
from typing import TextIO

from .report import FAILED, OK, PENDING, RUNNING, UNAVAILABLE, SyncReport, TypeReport


class Progress:
    """No output. Subclasses draw."""

    def start(self, report: SyncReport) -> None:
        self.report = report
        self.started = time.monotonic()

    def update(self, force: bool = False) -> None:
        pass

    def finish(self) -> None:
        pass

    def _label(self, t: TypeReport) -> str:
        return t.name if t.account is None else f"{t.name} [{t.account}]"

    def _folded(self) -> int:
        """Lines done and folded into per-type totals (a run over many accounts)."""
        return sum(sum(f.statuses.values()) for f in self.report.folded.values())

    def _totals(self) -> tuple[int, int, float]:
        fetched = (sum(t.fetched for t in self.report.types)
                   + sum(f.fetched for f in self.report.folded.values()))
        elapsed = time.monotonic() - self.started
        return fetched, self.report.requests, fetched / elapsed if elapsed > 0 else 0.0


class PlainProgress(Progress):
    """A line every ``interval`` seconds, for logs and CI."""

    def __init__(self, stream: TextIO | None = None, interval: float = 10.0) -> None:
        self.stream = stream or sys.stderr
        self.interval = interval
        self._last = 0.0

    def start(self, report: SyncReport) -> None:
        super().start(report)
        self._last = time.monotonic()

    def update(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < self.interval:
            return
        self._last = now
        fetched, requests, rate = self._totals()
        running = [t for t in self.report.types if t.status == RUNNING]
        done = sum(1 for t in self.report.types if t.status not in (RUNNING, PENDING)) + self._folded()
        active = ", ".join(f"{self._label(t)} {t.fetched:,}" for t in running[:6])
        more = f" +{len(running) - 6}" if len(running) > 6 else ""
        print(f"stripe_sync: {fetched:,} objects, {requests:,} requests, {rate:,.0f}/s; "
              f"{done}/{len(self.report.types) + self._folded()} types done"
              + (f"; running: {active}{more}" if running else ""), file=self.stream, flush=True)

    def finish(self) -> None:
        self.update(force=True)


class LiveProgress(Progress):
    """Redraws a small table in place (ANSI escapes) a few times a second."""

    def __init__(self, stream: TextIO | None = None, interval: float = 0.2) -> None:
        self.stream = stream or sys.stderr
        self.interval = interval
        self._last = 0.0
        self._lines = 0

    def update(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < self.interval:
            return
        self._last = now
        size = shutil.get_terminal_size((100, 24))
        fetched, requests, rate = self._totals()
        types = self.report.types
        done = [t for t in types if t.status in (OK, FAILED, UNAVAILABLE)]
        running = [t for t in types if t.status == RUNNING]
        lines = [f"stripe_sync  {fetched:>10,} objects  {rate:>8,.0f}/s  {requests:,} requests  "
                 f"{len(done) + self._folded()}/{len(types) + self._folded()} types done"]
        room = max(3, size.lines - 4)
        recent = [t for t in done if t.fetched][-max(0, room - len(running)):]
        for t in recent + running[:room]:
            mark = {OK: "done", FAILED: "FAILED", RUNNING: "..."}.get(t.status, t.status)
            lines.append(f"  {self._label(t)[:40]:<40} {t.fetched:>10,}  {t.rate:>8,.0f}/s  {mark}")
        out = []
        if self._lines:
            out.append(f"\x1b[{self._lines}F")  # back to the first line drawn
        out.append("".join(f"\x1b[2K{line[:size.columns - 1]}\n" for line in lines))
        out.append("\x1b[J")  # clear what is left of a longer previous frame
        self.stream.write("".join(out))
        self.stream.flush()
        self._lines = len(lines)

    def finish(self) -> None:
        self.update(force=True)


def default_progress(stream: TextIO | None = None, *, quiet: bool = False) -> Progress:
    """Live on a terminal, plain lines otherwise, none when quiet."""
    if quiet:
        return Progress()
    stream = stream or sys.stderr
    isatty = getattr(stream, "isatty", None)
    if isatty is not None and isatty():
        return LiveProgress(stream)
    return PlainProgress(stream)
