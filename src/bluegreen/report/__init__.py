"""What people read: documents built from plain data, rendered as Markdown (PR comments, job summaries), terminal
text and JSON. All escaping and the one size limit live here (doc.py); the Action's own reports are in action.py."""

from bluegreen.report.doc import truncate_markdown
from bluegreen.report.jsonview import outcome_json, status_json
from bluegreen.report.outcome import outcome_doc, outcome_markdown, outcome_text
from bluegreen.report.status import status_markdown, status_text

__all__ = [
    "outcome_doc",
    "outcome_json",
    "outcome_markdown",
    "outcome_text",
    "status_json",
    "status_markdown",
    "status_text",
    "truncate_markdown",
]
