"""The test-integrity guard: name every change that games the tests, and verify against the original tests.

check_patch(old_files, new_files) -> list[Finding]     contents in, findings out (no git)
check_diff(repo, base, head=None, staged=False)         the same for git revisions / working tree / index
verify(repo, base_rev, test_command, timeout_s)         run the tests as they were at `base_rev`
"""

from agent.guard.check import check_diff, check_patch
from agent.guard.model import KINDS, Finding
from agent.guard.verify import VerifyResult, verify

__all__ = ["KINDS", "Finding", "VerifyResult", "check_diff", "check_patch", "verify"]
