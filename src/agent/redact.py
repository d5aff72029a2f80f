"""Secret redaction: API keys and tokens never reach the model, the logs or memory.

Two sources of truth: the token patterns of detect-secrets' regex plugins (AWS, GitHub, GitLab,
Slack, Stripe, OpenAI, JWT, private keys, basic-auth URLs, ...) plus a few formats they miss, and the
exact values of environment variables whose names look secret (*_KEY, *_TOKEN, *_SECRET,
PASSWORD...). A secret becomes `[REDACTED:<kind>]`; tools refuse to write such a placeholder back.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

from agent.errors import ToolError

PLACEHOLDER = "[REDACTED:"
MIN_ENV_VALUE = 8
SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSW|PASSPHRASE|CREDENTIAL|AUTH|PRIVATE|COOKIE|SESSION|DSN", re.I)
NOT_SECRET_NAMES = {
    "SSH_AUTH_SOCK",
    "KEYTIMEOUT",
    "GPG_AGENT_INFO",
    "XAUTHORITY",
    "SESSION_MANAGER",
    "XDG_SESSION_ID",
    "XDG_SESSION_TYPE",
    "XDG_SESSION_CLASS",
    "XDG_SESSION_DESKTOP",
    "DESKTOP_SESSION",
}
# Formats the detect-secrets plugins do not cover (newer OpenAI/Anthropic keys, Hugging Face, Google).
EXTRA_PATTERNS = [
    ("API Key", re.compile(r"\bsk-(?:ant-|proj-|svcacct-)?[A-Za-z0-9_-]{24,}")),
    ("Hugging Face Token", re.compile(r"\bhf_[A-Za-z0-9]{30,}")),
    ("Google API Key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}")),
    ("GitHub Token", re.compile(r"\bgithub_pat_[A-Za-z0-9_]{40,}")),
    ("Bearer Token", re.compile(r"(?i)\bauthorization:\s*bearer\s+([A-Za-z0-9._~+/=-]{16,})")),
    (
        "Private Key",
        re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----.*?(?:-----END [A-Z0-9 ]*-----|\Z)", re.S),
    ),
]
SKIPPED_PLUGINS = {"IPPublicDetector", "PrivateKeyDetector"}  # IPs are not secrets; keys are matched as whole blocks


def is_secret_name(name: str) -> bool:
    """True for environment variable names that usually hold credentials."""
    return name.upper() not in NOT_SECRET_NAMES and bool(SECRET_NAME.search(name))


def plugin_patterns() -> list[tuple[str, re.Pattern[str]]]:
    """(kind, regex) for every regex plugin that detect-secrets ships (imported on first use)."""
    import importlib
    import inspect
    import pkgutil

    import detect_secrets.plugins as plugins
    from detect_secrets.plugins.base import RegexBasedDetector

    found: list[tuple[str, re.Pattern[str]]] = []
    for info in pkgutil.iter_modules(plugins.__path__):
        module = importlib.import_module(f"detect_secrets.plugins.{info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            ours = cls.__module__ == module.__name__ and not inspect.isabstract(cls)
            if ours and issubclass(cls, RegexBasedDetector) and cls.__name__ not in SKIPPED_PLUGINS:
                found += [(str(cls.secret_type), rx) for rx in cls().denylist]
    return found


class Redactor:
    """Replaces known secret values and secret-shaped tokens in text."""

    def __init__(self, environ: Mapping[str, str] | None = None, values: Iterable[str] = ()):
        env = os.environ if environ is None else environ
        secrets = {(f"env {n}", v) for n, v in env.items() if is_secret_name(n) and len(v.strip()) >= MIN_ENV_VALUE}
        secrets |= {("secret", v) for v in values if len(v) >= MIN_ENV_VALUE}
        self.values = sorted(secrets, key=lambda kv: -len(kv[1]))
        self.patterns = plugin_patterns() + EXTRA_PATTERNS

    def spans(self, text: str) -> list[tuple[int, int, str]]:
        """Where the secrets are: (start, end, kind), possibly overlapping."""
        found = []
        for kind, value in self.values:
            start = text.find(value)
            while start >= 0:
                found.append((start, start + len(value), kind))
                start = text.find(value, start + len(value))
        for kind, rx in self.patterns:
            for m in rx.finditer(text):
                group = next((g for g in range(1, (rx.groups or 0) + 1) if m.group(g)), 0)
                if m.end(group) > m.start(group):
                    found.append((m.start(group), m.end(group), kind))
        return found

    def redact(self, text: str) -> str:
        """Return `text` with every secret replaced by a `[REDACTED:kind]` placeholder."""
        if not text or len(text) < MIN_ENV_VALUE:
            return text
        spans = sorted(self.spans(text))
        if not spans:
            return text
        out, pos = [], 0
        for start, end, kind in spans:
            if start < pos:  # overlaps the previous secret: extend it
                pos = max(pos, end)
                continue
            out += [text[pos:start], f"{PLACEHOLDER}{kind}]"]
            pos = end
        out.append(text[pos:])
        return "".join(out)


_default: Redactor | None = None


def default_redactor() -> Redactor:
    """The process-wide redactor, built from os.environ on first use."""
    global _default
    if _default is None:
        _default = Redactor()
    return _default


def reset() -> None:
    """Forget the process-wide redactor (after the environment changed)."""
    global _default
    _default = None


def redact(text: str) -> str:
    """Redact secrets from text with the process-wide redactor."""
    return default_redactor().redact(text)


def redact_obj(obj: Any) -> Any:
    """Redact every string inside a JSON-like value (dicts, lists, strings)."""
    if isinstance(obj, str):
        return redact(obj)
    if isinstance(obj, dict):
        return {k: redact_obj(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [redact_obj(v) for v in obj]
    return obj


def refuse_placeholders(new_text: str, old_text: str) -> None:
    """Raise ToolError when a write would put a redaction placeholder where a real secret was."""
    if new_text.count(PLACEHOLDER) > old_text.count(PLACEHOLDER):
        raise ToolError(
            f"the new text contains a {PLACEHOLDER}...] placeholder: the real secret is hidden from you and "
            "writing the placeholder would destroy it; edit around that line instead (a smaller `old` text)"
        )
