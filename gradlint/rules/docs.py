"""Rule documentation from one source: the rules' own docs.

`gradlint rule CODE`, `gradlint rules`, docs/rules.md, the README's rule table, the SARIF rule
descriptors and every finding's `url` are all rendered from here, so they cannot drift apart.
Regenerate the files with `python -m gradlint.rules.docs`; a test fails when they are stale.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, fields
from pathlib import Path

from gradlint.rules import ALL_RULES, ERROR_CODES, RUNTIME_CODES
from gradlint.codes import DOCS_URL

README_START = "<!-- rules-table:start -->"
README_END = "<!-- rules-table:end -->"
REPO_ROOT = Path(__file__).resolve().parents[2]
_HEADING = re.compile(r"^(#+) ", re.MULTILINE)
_OPTION_MENTION = re.compile(r"`([a-z][a-z-]*)\s*(?:=[^`]*)?`")

# Codes that are not static rules still deserve a section: users meet them in their output.
_OTHER_DOCS: dict[str, tuple[str, str]] = {
    "GL001": (
        "The file is not valid Python, so nothing in it could be checked",
        "## What it finds\nA syntax error: the file (or, in a notebook, a code cell) does not "
        "parse. In a notebook the other cells are still checked and fixed, as if that cell were "
        "absent.\n\n## Why it matters\ngradlint reads the model from the "
        "code; code that does not parse cannot be checked, so the run exits with code 2.\n\n"
        "## Fix\nFix the syntax error; the message gives Python's reason and the position.",
    ),
    "GL002": (
        "The file could not be read or is not a notebook gradlint understands",
        "## What it finds\nA file that cannot be read (permissions, not UTF-8 or its declared "
        "encoding, binary), or a `.ipynb` file that is not valid JSON or not nbformat 4.\n\n"
        "## Why it matters\nNothing in it was checked, so the run exits with code 2; the other "
        "files are still checked.\n\n## Fix\nThe message names the problem. Notebooks in "
        "an older format convert with `jupyter nbconvert --to notebook --nbformat 4`.",
    ),
    "GR101": (
        "Measured on the real model: the gradient reaching the first layers is vanishingly small",
        "## What it finds\n`gradlint probe` builds the model, runs a few synthetic batches and "
        "finds the backward signal at the first hidden layer far below the last one's, or "
        "weight gradients that are zero or negligible relative to the weights.\n\n## Why it "
        "matters\nLayers whose weights receive no gradient do not learn.\n\n## Fix\nFix the "
        "static findings the probe names as likely causes (initializers, activations), then "
        "`gradlint probe --confirm` to measure again.",
    ),
    "GR102": (
        "Measured on the real model: gradients or activations grow explosively",
        "## What it finds\n`gradlint probe` finds the backward signal growing across the "
        "stack, forward activations growing layer after layer, or gradient norms beyond the "
        "threshold.\n\n## Why it matters\nExploding gradients make training diverge or turn "
        "weights into NaN.\n\n## Fix\nFix the static findings the probe names (initializer "
        "scale, clipping), then `gradlint probe --confirm`.",
    ),
    "GR103": (
        "Measured on the real model: NaN or Inf in the loss, an activation or a gradient",
        "## What it finds\nNon-finite values during `gradlint probe`'s forward or backward "
        "pass.\n\n## Why it matters\nOne NaN spreads to every weight at the next update.\n\n"
        "## Fix\nLook at the layer the message names; fix the static findings it lists.",
    ),
    "GR104": (
        "Measured on the real model: every unit of a ReLU layer outputs zero for the whole batch",
        "## What it finds\n`gradlint probe` counts, for each ReLU-family layer (`relu`, `relu6`, "
        "as its own activation or as an activation layer right after it), the units whose output "
        "is zero for every sample of a batch. The stack is dead when some layer has all its units "
        "dead: the message names the first such layer, the dead run after it and the width. "
        "With `--seeds N` it says in how many seeds the stack is dead.\n\n## Why it matters\n"
        "A dead unit passes no gradient back; when a whole layer is dead, nothing below it "
        "learns, and gradient descent cannot revive it. Narrow ReLU stacks (a few units per "
        "layer, many layers) die with a probability that grows with depth, so one seed may be "
        "healthy and the next dead.\n\n## Fix\nWiden the layers, use fewer of them, or an "
        "activation without a zero region (`leaky_relu`, `elu`, `gelu`); a residual connection or "
        "normalization before the activation also keeps units alive.",
    ),
}


@dataclass(frozen=True)
class CodeDoc:
    """Documentation of one code: a static rule, an error code or a runtime finding."""

    code: str
    name: str
    summary: str
    body: str  # markdown with `##` sections: What it finds, Why it matters, Example, Fix
    fixable: bool
    options: tuple[str, ...] = ()
    fix_safety: tuple = ()  # (FixSafety, …): each kind of fix, safe or unsafe, and why

    @property
    def fix_levels(self) -> tuple[str, ...]:
        """The applicabilities of its fixes, safe first: ("safe",), ("unsafe",) or both."""
        levels = {f.applicability for f in self.fix_safety}
        return tuple(level for level in ("safe", "unsafe") if level in levels)

    @property
    def anchor(self) -> str:
        """The id GitHub gives the section heading `## CODE name` in docs/rules.md."""
        return f"{self.code.lower()}-{self.name}"

    @property
    def url(self) -> str:
        return DOCS_URL.format(anchor=self.anchor)

    @property
    def kind(self) -> str:
        if self.code.startswith("GR"):
            return "runtime"
        return "error" if self.code in ERROR_CODES else "rule"


def _config_keys() -> dict[str, str]:
    from gradlint.config import _KEYS

    return {key: attr for key, (attr, _) in _KEYS.items()}


# Keys about which files and codes are checked: every rule has them, none is a rule's option.
_GENERAL_KEYS = {"select", "ignore", "exclude", "extend-exclude", "per-file-ignores", "respect-gitignore",
                 "extensions", "runtime", "cache-dir", "unsafe-fixes"}


def _options(rule: object) -> tuple[str, ...]:
    """Configuration keys the rule declares (`options`) or names in its doc."""
    keys = _config_keys()
    declared = tuple(getattr(rule, "options", ()))
    mentioned = tuple(m for m in _OPTION_MENTION.findall(getattr(rule, "doc", ""))
                      if m in keys and m not in _GENERAL_KEYS)
    return tuple(dict.fromkeys((*declared, *mentioned)))


def code_docs() -> list[CodeDoc]:
    """Every documented code, in code order."""
    docs = [CodeDoc(r.code, r.name, r.summary.rstrip("."), r.doc.strip(), r.fixable, _options(r), r.fix_safety)
            for r in ALL_RULES]
    names = {**ERROR_CODES, **RUNTIME_CODES}
    for code, name in names.items():
        summary, body = _OTHER_DOCS.get(code, (name.replace("-", " ").capitalize(), ""))
        docs.append(CodeDoc(code, name, summary, body, False))
    return sorted(docs, key=lambda d: d.code)


def doc_for(code: str) -> CodeDoc | None:
    return next((d for d in code_docs() if d.code == code.strip().upper()), None)


def url_for(code: str) -> str | None:
    doc = doc_for(code)
    return doc.url if doc else None


def _demote(markdown: str, levels: int) -> str:
    """Headings `levels` deeper; `#` lines inside fenced code are comments, left alone."""
    out, fenced = [], False
    for line in markdown.split("\n"):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced:
            line = _HEADING.sub(lambda m: "#" * (len(m.group(1)) + levels) + " ", line)
        out.append(line)
    return "\n".join(out)


def _default(key: str) -> str:
    from gradlint.config import Settings

    attr = _config_keys()[key]
    default = next((f.default for f in fields(Settings) if f.name == attr), None)
    if isinstance(default, str):
        return f'"{default}"'
    if isinstance(default, bool):
        return str(default).lower()
    return repr(default) if default is not None else "unset"


def render_doc(doc: CodeDoc, level: int = 1) -> str:
    """One code's documentation as markdown, its title at heading `level`."""
    hashes = "#" * level
    fix = _fix_availability(doc) if doc.fixable else "No automatic fix." if doc.kind == "rule" else ""
    parts = [f"{hashes} {doc.code} {doc.name}", f"{doc.summary}." + (f" {fix}" if fix else "")]
    if doc.body:
        parts.append(_demote(doc.body, level - 1))
    if doc.fix_safety:
        parts.append(_fix_safety_section(doc, hashes))
    if doc.options:
        lines = [f"- `{key}` (default `{_default(key)}`)" for key in doc.options]
        parts.append(f"{hashes}# Options\nIn `[tool.gradlint]`:\n" + "\n".join(lines))
    if doc.kind == "rule":
        parts.append(f"{hashes}# Suppressing\n`# noqa: {doc.code}` on the line, or "
                     f"`ignore = [\"{doc.code}\"]` / `per-file-ignores` in `[tool.gradlint]`.")
    elif doc.kind == "runtime":
        parts.append(f"{hashes}# Suppressing\n`ignore = [\"{doc.code}\"]` in `[tool.gradlint]`.")
    return "\n\n".join(parts) + "\n"


def _fix_availability(doc: CodeDoc) -> str:
    """One sentence: which command fixes it, by the safety of its fixes."""
    levels = doc.fix_levels
    if levels == ("unsafe",):
        return "Fix available with `gradlint fix --unsafe-fixes` (an unsafe fix)."
    if levels == ("safe", "unsafe"):
        return "Fix available with `gradlint fix`: safe or unsafe by case (see Fix safety)."
    return "Fix available with `gradlint fix` (a safe fix)."


def _fix_safety_section(doc: CodeDoc, hashes: str) -> str:
    """Each kind of fix the rule makes, whether `fix --write` applies it, and why."""
    lines = [f"- **{f.applicability}**: {f.what}. {f.why[:1].upper()}{f.why[1:]}." for f in doc.fix_safety]
    return (f"{hashes}# Fix safety\n`gradlint fix --write` applies safe fixes; unsafe ones, which replace "
            "something the author wrote, only with `--unsafe-fixes` (or `unsafe-fixes = true` in "
            "`[tool.gradlint]`).\n\n" + "\n".join(lines))


def _escape_cell(text: str) -> str:
    return text.replace("|", "\\|")


def rules_table(link_prefix: str = "docs/rules.md", kinds: tuple[str, ...] = ("rule",)) -> str:
    """The markdown table of the codes of `kinds`; each code links to `link_prefix#anchor`."""
    rows = ["| code | name | fix | what it finds |", "|---|---|---|---|"]
    for doc in code_docs():
        if doc.kind in kinds:
            mark = (", ".join(doc.fix_levels) or "safe") if doc.fixable else ""
            rows.append(f"| [{doc.code}]({link_prefix}#{doc.anchor}) | {doc.name} | {mark} | {_escape_cell(doc.summary)} |")
    return "\n".join(rows) + "\n"


def rules_markdown() -> str:
    """docs/rules.md."""
    sections = [render_doc(doc, level=2) for doc in code_docs()]
    header = (
        "# Rules\n\n"
        "<!-- Generated from the rules' own documentation by `python -m gradlint.rules.docs`; "
        "edit gradlint/rules/, not this file. -->\n\n"
        "GL0xx: gradlint could not check something. GL1xx: initialization. "
        "GL2xx: gradient clipping and optimizers. GL3xx: architecture. "
        "GR1xx: findings of the runtime probe (`gradlint probe`).\n\n"
        "`gradlint rule CODE` prints one of these sections; `gradlint rules` lists them.\n\n"
    )
    table = rules_table(link_prefix="", kinds=("error", "rule", "runtime"))
    return header + table + "\n" + "\n".join(sections)


def replace_readme_table(readme: str) -> str:
    """README text with the block between the rules-table markers regenerated."""
    start, end = readme.find(README_START), readme.find(README_END)
    if start < 0 or end < start:
        raise ValueError(f"README has no {README_START} … {README_END} block")
    return readme[:start + len(README_START)] + "\n" + rules_table() + readme[end:]


def main(argv: list[str] | None = None) -> int:
    """Write docs/rules.md and the README's rule table; with --check, only say if stale."""
    args = sys.argv[1:] if argv is None else argv
    check = "--check" in args
    targets = [(REPO_ROOT / "docs" / "rules.md", lambda _old: rules_markdown())]
    readme = REPO_ROOT / "README.md"
    if readme.exists():
        targets.append((readme, replace_readme_table))
    stale = []
    for path, render in targets:
        old = path.read_text(encoding="utf-8") if path.exists() else ""
        new = render(old)
        if new != old:
            stale.append(path)
            if not check:
                path.write_text(new, encoding="utf-8")
    for path in stale:
        print(f"{'stale' if check else 'updated'}: {path.relative_to(REPO_ROOT)}")
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
