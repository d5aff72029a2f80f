"""Errors raised by agent, and the small exceptions that steer the loop.

    AgentError                  anything the CLI reports as one line
    ├── UsageError              bad input or configuration: exit 2
    ├── BackendError            the model could not be reached or answered badly
    ├── ToolError               a tool failed; the message goes back to the model
    │   └── PermissionDenied    the policy or the user refused an action
    ├── StoreError              notes, index or trajectory could not be read/written
    └── GitError                a git command failed

    LoopControl                 ends or steers a run; never shown as an error
    ├── Submitted               the model called finish
    ├── LimitsExceeded          steps, tokens, cost or wall time ran out
    └── FormatError             the model's reply could not be used as a tool call
"""


class AgentError(Exception):
    """Base of every error the CLI reports as a single line."""


class UsageError(AgentError):
    """Bad input or configuration from the user (exit code 2)."""


class BackendError(AgentError):
    """The model backend failed (unreachable, bad credentials, bad reply)."""


class ToolError(AgentError):
    """A tool failed; its message is shown to the model as the observation."""


class PermissionDenied(ToolError):
    """An action was refused by the permission policy or the user."""


class StoreError(AgentError):
    """Persistent state (notes, index, trajectory) could not be used."""


class GitError(AgentError):
    """A git command failed (git's own message included); an internal failure, not the user's input."""


def exit_code(exc: AgentError) -> int:
    """The CLI's exit code for an error: 2 for usage or configuration, 1 for anything else."""
    return 2 if isinstance(exc, UsageError) else 1


class LoopControl(Exception):
    """Base of the exceptions that end or steer a run."""


class Submitted(LoopControl):
    """The model called finish; carries its summary."""


class LimitsExceeded(LoopControl):
    """A step, token, cost or time limit was reached."""


class FormatError(LoopControl):
    """A reply could not be turned into a valid tool call."""
