"""Render a drill's folder from its journal alone: result.json, report.md, report.html, and the
reports folder's index.html. (junit.xml and cucumber.json are pytest's own.)"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from drill.core.errors import InvalidInput
from drill.core.journal import iter_journal
from drill.report.html import render_html, render_index
from drill.report.markdown import render_markdown
from drill.report.result import build


def render(drill_dir: Path, lang: str = "en") -> dict[str, Any]:
    try:
        result = build(iter_journal(drill_dir / "journal.jsonl"))
    except (TypeError, KeyError, ValueError, AttributeError, IndexError) as exc:
        # the typed reading checks each record's shape; fields only the report reads are checked here
        raise InvalidInput(f"{drill_dir / 'journal.jsonl'}: a record's fields have the wrong shape "
                           f"({type(exc).__name__}: {str(exc)[:120]})") from None
    data = result.to_dict()
    (drill_dir / "result.json").write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str))
    (drill_dir / "report.md").write_text(render_markdown(result))
    (drill_dir / "report.html").write_text(render_html(result, lang))
    render_index(drill_dir.parent)
    return data
