"""`--confirm`: probe the model as written and as gradlint would fix it, and compare.

The static fixes are applied to the module's text in memory (nothing is written), the fixed
text is run as the same module under the same name, and both versions are probed with the
same seed, so the same initial draws and the same batches: any difference is the fix's.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gradlint.diagnostics import Diagnostic
from gradlint.errors import UsageError
from gradlint.runtime.errors import ProbeError, reason
from gradlint.runtime.progress import Progress
from gradlint.runtime.results import ProbeReport
from gradlint.runtime.settings import ProbeOptions
from gradlint.runtime.targets import parse_target, source_of
from gradlint.runtime.verdicts import _EXPLAINING_PREFIXES, describe_lines, fmt

Fixer = Callable[[str, str], Any]  # (source, filename) -> object with .source and .fixed


@dataclass(frozen=True)
class ConfirmResult:
    """Both probes and what the static fixer changed in between."""

    target: str
    filename: str
    before: ProbeReport
    after: ProbeReport
    fixed: tuple[Diagnostic, ...]  # static findings the fixes remove (rows in the original)
    original: str
    source: str  # the fixed module text

    @property
    def changed(self) -> bool:
        return self.source != self.original

    def _key(self, d: Diagnostic) -> tuple[str, str]:
        return d.code, str(d.extra.get("criterion", ""))

    @property
    def resolved(self) -> list[Diagnostic]:
        after = {self._key(d) for d in self.after.findings}
        return [d for d in self.before.findings if self._key(d) not in after]

    @property
    def persisting(self) -> list[Diagnostic]:
        after = {self._key(d) for d in self.after.findings}
        return [d for d in self.before.findings if self._key(d) in after]

    @property
    def introduced(self) -> list[Diagnostic]:
        before = {self._key(d) for d in self.before.findings}
        return [d for d in self.after.findings if self._key(d) not in before]

    @property
    def confirmed(self) -> bool:
        """The fixes removed every runtime finding and brought none in."""
        return self.changed and not self.after.findings

    @property
    def exit_code(self) -> int:
        """0 when the fixed model probes clean, 1 when runtime findings remain."""
        return 1 if self.after.findings else 0

    def fix_summary(self, for_code: str | None = None) -> str:
        """"GL101 fixes at lines 8, 9" (only the static codes that bear on `for_code`)."""
        rows: dict[str, set[int]] = {}
        for d in self.fixed:
            if for_code is None or d.code.startswith(_EXPLAINING_PREFIXES.get(for_code, ("GL",))):
                rows.setdefault(d.code, set()).add(d.location.row)
        return "; ".join(describe_lines(f"{code} fixes", sorted(r)) for code, r in sorted(rows.items()))

    def _status(self, d: Diagnostic) -> str:
        if d in self.resolved:
            by = self.fix_summary(d.code)
            return f"{d.code} resolved" + (f" by {by}" if by else "")
        return f"{d.code} persists"

    def verdict_lines(self) -> list[str]:
        """E.g. `backward signal ratio first/last: 3.8e-05 → 0.99 (GR101 resolved by GL101 fixes
        at lines 8, 9)`, then one line for every other finding before or after."""
        lines = []
        handled: set[int] = set()
        for label, criterion, old, new in (
            ("backward signal ratio first/last", "backward_ratio",
             self.before.backward_ratio(), self.after.backward_ratio()),
            ("forward RMS growth", "forward_growth", _growth(self.before), _growth(self.after)),
        ):
            if old is None and new is None:
                continue
            related = [d for d in self.before.findings if d.extra.get("criterion") == criterion]
            handled.update(id(d) for d in related)
            statuses = "; ".join(self._status(d) for d in related)
            new_here = [d for d in self.introduced if d.extra.get("criterion") == criterion]
            handled.update(id(d) for d in new_here)
            statuses += ("; " if statuses and new_here else "") + "; ".join(f"{d.code} new" for d in new_here)
            lines.append(f"{label}: {fmt(old)} → {fmt(new)}" + (f" ({statuses})" if statuses else ""))
        for d in self.before.findings:
            if id(d) not in handled:
                lines.append(f"{self._status(d)}: {d.message}")
        for d in self.introduced:
            if id(d) not in handled:
                lines.append(f"{d.code} new after the fixes: {d.message}")
        return lines

    def conclusion(self) -> str:
        """Never "clean" from nothing: where the probe could not measure per layer, the
        conclusion says what it did measure."""
        from gradlint.runtime.report import (
            clean_verdict,
            fully_measured,
            measured_phrase,
        )

        if not self.changed:
            return "No static fixes apply, so there is nothing to confirm."
        n_before, n_after = len(self.before.findings), len(self.after.findings)
        fully = fully_measured(self.before) and fully_measured(self.after)
        if not self.after.findings:
            if n_before:
                if fully:
                    return f"Confirmed: the fixes resolve all {n_before} runtime finding(s)."
                return (f"The fixes resolve all {n_before} runtime finding(s) in what was measured "
                        f"({measured_phrase(self.after)}).")
            if fully:
                return "The model probes clean before and after the fixes."
            return clean_verdict(self.after, " before or after the fixes")
        return f"Not confirmed: {n_after} runtime finding(s) remain after the fixes (before: {n_before})."

    def to_dict(self) -> dict[str, Any]:
        from gradlint.runtime.report import report_dict

        return {"before": report_dict(self.before), "after": report_dict(self.after)}


def _growth(report: ProbeReport) -> float | None:
    growth = report.forward_growth()
    return growth[0] if growth else None


def _default_fixer() -> Fixer:
    try:
        from gradlint.engine import fix_source
    except ImportError as exc:
        raise ProbeError(f"--confirm needs gradlint's static fixer (gradlint.engine.fix_source): {exc}") from exc
    return fix_source


def confirm_fix(
    target: str,
    options: ProbeOptions | None = None,
    *,
    fixer: Fixer | None = None,
    progress: Progress | None = None,
) -> ConfirmResult:
    """Probe `target` as written and with gradlint's static fixes applied in memory.

    Signature: `confirm_fix(target: str, options: ProbeOptions | None = None, *,
    fixer=None, progress=None) -> ConfirmResult`.

    - `target`: "path/to/model.py:factory" or "package.module:factory" (a saved model has no
      source to fix: UsageError).
    - `options`: probe settings (`options_from_table(settings.runtime)`); defaults if None.
    - `fixer(source, filename)`: returns an object with `.source` (fixed text) and `.fixed`
      (list of Diagnostic); defaults to `gradlint.engine.fix_source`.
    - Nothing is written. The result holds `before`/`after` ProbeReports, `fixed`, the fixed
      `source`, `confirmed`, `exit_code`, `verdict_lines()`, `to_dict()` (the JSON
      `{"before": …, "after": …}`); render it with `gradlint.runtime.report.render_confirm_text`.
    - Raises ProbeError / RuntimeMissing / UsageError (all GradlintError, exit 2) when a probe
      cannot run.
    """
    from gradlint.runtime.session import probe_target

    options = options or ProbeOptions()
    parsed = parse_target(target)
    if not parsed.has_source:
        raise UsageError(f"{target}: --confirm needs a factory in source code (file.py:function); "
                         f"a saved model has no source to fix")
    path, original = source_of(parsed)
    filename = parsed.location if parsed.kind == "file" else os.path.relpath(path)
    fix = fixer or _default_fixer()
    try:
        outcome = fix(original, filename)
    except Exception as exc:
        raise ProbeError(f"{target}: applying the static fixes failed: {reason(exc)}") from exc
    fixed_source = outcome.source
    fixed = tuple(outcome.fixed)
    if progress:
        progress.step(f"probing {target} as written")
    before = probe_target(target, options, progress=progress, source=original)
    if fixed_source != original:
        if progress:
            progress.step(f"probing {target} with the fixes")
        after = probe_target(target, options, progress=progress, source=fixed_source)
    else:
        after = before
    return ConfirmResult(target, filename, before, after, fixed, original, fixed_source)
