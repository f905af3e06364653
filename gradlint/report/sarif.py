"""`--output-format sarif`: SARIF 2.1.0, as GitHub code scanning uploads it.

Every code gradlint can report is a rule of the run (so `ruleIndex` is stable), described from
the same documentation as `gradlint rule`. Results carry a repository-relative location and a
fingerprint that does not move when code is inserted above the finding, so an alert keeps its
identity across commits.

A file name that is not UTF-8 still names its file: artifact URIs are percent-encoded from
the name's raw bytes, and every text of the log is valid Unicode (U+FFFD for such a byte).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from gradlint import __version__
from gradlint.diagnostics import Diagnostic
from gradlint.report.escape import name_bytes, valid_unicode_tree
from gradlint.report.github import file_span
from gradlint.report.paths import repo_relative, repository_root

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/gradlint/gradlint"
SRCROOT = "%SRCROOT%"
_LINE_NUMBER = re.compile(r"\b(line|cell) \d+")
_SECTION = re.compile(r"^## What it finds\n(.*?)(?:\n\n|\Z)", re.MULTILINE | re.DOTALL)


def _text(value: str, fallback: str) -> str:
    """SARIF wants no empty strings where text is required."""
    return value.strip() or fallback


def _rule_descriptor(doc: Any) -> dict[str, Any]:
    from gradlint.rules.docs import render_doc

    found = _SECTION.search(doc.body)
    full = " ".join(found.group(1).split()) if found else doc.summary
    markdown = render_doc(doc, level=1)
    return {
        "id": doc.code,
        "name": doc.name,
        "shortDescription": {"text": _text(doc.summary, doc.code)},
        "fullDescription": {"text": _text(full, doc.summary)},
        "help": {"text": _text(markdown, doc.summary), "markdown": _text(markdown, doc.summary)},
        "helpUri": doc.url,
        "defaultConfiguration": {"level": "error"},
        "properties": {"tags": ["keras", "gradients", doc.kind], "fixable": doc.fixable},
    }


def _uri(filename: str) -> tuple[str, bool]:
    """(URI, relative to %SRCROOT%?)."""
    path = repo_relative(filename)
    if path.startswith("/"):
        return Path(path).as_uri(), False  # percent-encodes os.fsencode(path)
    return quote(name_bytes(path), safe="/"), True


def _fingerprint(d: Diagnostic, uri: str, occurrence: int) -> str:
    """Stable while the finding stays: no row, column or line number in it."""
    message = _LINE_NUMBER.sub(r"\1", d.message)
    key = "\0".join((d.code, uri, str(d.cell or ""), message, str(occurrence)))
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]  # a name's odd bytes too


def _result(d: Diagnostic, index: dict[str, int], seen: Counter[tuple[str, str, str, str]]) -> dict[str, Any]:
    from gradlint.report.text import location_text

    uri, relative = _uri(d.filename)
    start, end = file_span(d)
    if (end.row, end.column) < (start.row, start.column):
        end = start
    artifact: dict[str, Any] = {"uri": uri}
    if relative:
        artifact["uriBaseId"] = SRCROOT
    message = _text(d.message, d.code)
    if d.cell is not None:
        message = f"{location_text(d)}: {message}"
    occurrence_key = (d.code, uri, str(d.cell), _LINE_NUMBER.sub(r"\1", d.message))
    seen[occurrence_key] += 1
    result: dict[str, Any] = {
        "ruleId": d.code,
        "level": "error" if d.severity == "error" else "warning",
        "message": {"text": message},
        "locations": [{
            "physicalLocation": {
                "artifactLocation": artifact,
                "region": {"startLine": start.row, "startColumn": start.column,
                           "endLine": end.row, "endColumn": end.column},
            },
        }],
        "partialFingerprints": {"gradlintFingerprint/v1": _fingerprint(d, uri, seen[occurrence_key])},
    }
    if d.code in index:
        result["ruleIndex"] = index[d.code]
    properties: dict[str, Any] = {"fixable": d.fix is not None}
    if d.cell is not None:
        properties.update(cell=d.cell, cellLine=d.location.row, cellColumn=d.location.column)
    result["properties"] = properties
    return result


def _directory_uri(path: Path) -> str:
    uri = path.as_uri()
    return uri if uri.endswith("/") else uri + "/"


def sarif_log(diagnostics: Sequence[Diagnostic]) -> dict[str, Any]:
    from gradlint.rules.docs import code_docs

    docs = code_docs()
    index = {doc.code: i for i, doc in enumerate(docs)}
    seen: Counter[tuple[str, str, str, str]] = Counter()
    run: dict[str, Any] = {
        "tool": {"driver": {
            "name": "gradlint",
            "version": __version__,
            "semanticVersion": __version__,
            "informationUri": INFORMATION_URI,
            "rules": [_rule_descriptor(doc) for doc in docs],
        }},
        "originalUriBaseIds": {SRCROOT: {"uri": _directory_uri(repository_root(os.getcwd()))}},
        "columnKind": "unicodeCodePoints",
        "results": [_result(d, index, seen) for d in diagnostics],
    }
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def render_sarif(diagnostics: Sequence[Diagnostic]) -> str:
    return json.dumps(valid_unicode_tree(sarif_log(diagnostics)), indent=2, ensure_ascii=False) + "\n"
