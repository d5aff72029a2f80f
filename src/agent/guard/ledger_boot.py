"""Run pytest for the guard's ledger: `python -I -B ledger_boot.py OUT_DIR ROOT ARGS...` (standalone file).

pytest is imported before the project's folders join sys.path, so a `pytest.py` at the project root cannot
stand in for it; the project's sources stay importable as `python -m pytest` would make them.
"""

import os
import sys

out_dir, root, args = sys.argv[1], sys.argv[2], sys.argv[3:]
import pytest  # noqa: E402  (before the project's paths, on purpose)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import agent_guard_ledger  # noqa: E402

del sys.path[0]
for folder in (root, os.path.join(root, "src")):
    if os.path.isdir(folder):
        sys.path.insert(0, folder)
os.chdir(root)
sys.exit(pytest.main(args, plugins=[agent_guard_ledger.LedgerPlugin(out_dir)]))
