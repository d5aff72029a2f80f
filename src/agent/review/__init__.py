"""`agent review`: a fast, deterministic check of a change, then an optional capped model review.

review(root, config, ReviewOptions(staged, model, strict, severity)) -> Report
exit_code(report, config) -> 0 | 1
dismiss(root, config, finding_id, why, finding) -> note id
"""

from agent.review.memory import dismiss
from agent.review.model import Finding, Report
from agent.review.runner import ReviewOptions, exit_code, review

__all__ = ["Finding", "Report", "ReviewOptions", "dismiss", "exit_code", "review"]
