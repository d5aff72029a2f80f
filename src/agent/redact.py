"""Secret redaction: API keys and tokens never reach the model, the logs, commits or memory.

What is a secret:
- token formats: detect-secrets' regex plugins (AWS, GitHub, GitLab, Slack, Stripe, JWT, PyPI, private
  keys, basic-auth URLs, ...) plus formats they miss; the whole token is redacted, not a prefix group;
- assignments: `password = "..."`, `passwd: ...`, `secret=...` (any value), and high-entropy values
  assigned to names that look secret (`api_key = "..."`, `AUTH_TOKEN=...`);
- known values (agent.secretvalues): those of environment variables whose names look secret (*_KEY,
  *TOKEN*, *SECRET*, *PASSWORD*, *_PW, ...) and every secret found above, found again in any case, in
  hex (plain or as xxd/hexdump show it), in base64, or as a piece of 12 characters or more.
A secret becomes `[REDACTED:<kind>]`; tools refuse to write such a placeholder back. Every search is
linear in the text (no pattern can backtrack without bound), so a hostile 1 MB line costs little.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from agent.errors import ToolError
from agent.secretvalues import MIN_VALUE, KnownValues, entropy, secret_like

PLACEHOLDER = "[REDACTED:"
MIN_ENV_VALUE = MIN_VALUE
SECRET_NAME = re.compile(
    r"KEY|TOKEN|SECRET|PASSW|PASSPHRASE|CREDENTIAL|AUTH|PRIVATE|COOKIE|SESSION|DSN|(?:^|_)(?:PW|PWD|PASS)(?:_|$)", re.I)
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
    "PWD",
    "OLDPWD",
}
# Formats the detect-secrets plugins do not cover (newer OpenAI/Anthropic keys, Hugging Face, Google),
# or cover only in part (a JWT without its signature, PyPI tokens shorter than theirs).
EXTRA_PATTERNS = [
    ("API Key", re.compile(r"\bsk-(?:ant-|proj-|svcacct-)?[A-Za-z0-9_-]{24,}")),
    ("Hugging Face Token", re.compile(r"\bhf_[A-Za-z0-9]{30,}")),
    ("Google API Key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}")),
    ("GitHub Token", re.compile(r"\bgithub_pat_[A-Za-z0-9_]{40,}")),
    ("GitHub Token", re.compile(r"\bgh[pousr]_[A-Za-z0-9_]{30,}")),
    ("GitLab Token", re.compile(r"\bgl[a-z]{2,6}-[A-Za-z0-9_-]{20,}")),
    ("JSON Web Token", re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")),
    ("PyPI Token", re.compile(r"\bpypi-AgE[A-Za-z0-9_-]{40,}")),
    ("Bearer Token", re.compile(r"(?i)\bauthorization:\s{0,8}bearer\s{1,8}([A-Za-z0-9._~+/=-]{16,})")),
    (
        "Private Key",
        re.compile(r"-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----.*?(?:-----END [A-Z0-9 ]{0,40}-----|\Z)",
                   re.S),
    ),
]
SKIPPED_PLUGINS = {"IPPublicDetector", "PrivateKeyDetector"}  # IPs are not secrets; keys are matched as whole blocks
# Assignments: a secret-looking word inside a name, then `=`/`:` and a value (every quantifier bounded).
NAME_WORD = re.compile(r"(?i)passw|passphrase|pwd|secret|token|api_?key|access_?key|private_?key|credential|auth")
PASSWORD_WORD = re.compile(r"(?i)passw|passphrase|pwd|secret")
ASSIGNMENT = re.compile(
    r"""[\w.-]{0,40}["']?[ \t]{0,8}(?::=|=>|[:=])[ \t]{0,8}"""
    r"""(?:"([^"\n]{1,300})"|'([^'\n]{1,300})'|([^\s"'`,;#(){}\[\]<>$]{1,300})(?=[\s,;#]|$))"""
)
NOT_VALUES = {"none", "null", "nil", "true", "false", "undefined", "required", "optional", "changeme", "xxx",
              "***", "redacted", "example", "string", "str"}
ENV_LINE = re.compile(r"""(?m)^[ \t]{0,8}(?:export[ \t]{1,8})?([A-Za-z_][A-Za-z0-9_.-]{0,80})[ \t]{0,8}[=:][ \t]{0,8}"""
                      r"""["']?([^"'\n#]{1,500})""")
MAX_SECRET_FILE = 256_000
HIGH_ENTROPY = 3.5  # bits per character: random keys are ~4.5-6, words and identifiers ~2.5-3.3


def is_secret_name(name: str) -> bool:
    """True for environment variable names that usually hold credentials (API_KEY, DB_PASSWORD, SMTP_PW...)."""
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
                found += [(str(cls.secret_type), bounded(rx)) for rx in cls().denylist]
    return found


def bounded(rx: re.Pattern[str], most: int = 64) -> re.Pattern[str]:
    """`rx` with every unbounded repeat (`*`, `+`, `{n,}`) bounded by `most`, so that no match attempt can
    scan the rest of a huge line (several detect-secrets patterns are quadratic on hostile input)."""
    out, i, source, in_class = [], 0, rx.pattern, False
    while i < len(source):
        c = source[i]
        if c == "\\":
            out.append(source[i:i + 2])
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
            if source[i + 1:i + 2] == "]" or source[i + 1:i + 3] == "^]":
                out.append(source[i:i + (2 if source[i + 1] == "]" else 3)])
                i += 2 if source[i + 1] == "]" else 3
                continue
        elif c in "*+" and out and out[-1] not in ("(", "|"):
            c = f"{{0,{most}}}" if c == "*" else f"{{1,{most}}}"
        elif c == "{" and (m := re.match(r"\{(\d+),\}", source[i:])):
            out.append(f"{{{m.group(1)},{int(m.group(1)) + most}}}")
            i += m.end()
            continue
        out.append(c)
        i += 1
    return re.compile("".join(out), rx.flags)


def _secret_span(m: re.Match[str]) -> tuple[int, int]:
    """The part of a pattern's match that is the secret: a group that ends the match (a value after its
    label: `://user:PASS@`, `Bearer TOKEN`), else the whole match (GitHub's `(ghp)_BODY`: prefix and body)."""
    for g in range(1, (m.re.groups or 0) + 1):
        if m.group(g) and m.end() - m.end(g) <= 2:
            return m.span(g)
    return m.span()


def assignment_spans(text: str) -> list[tuple[int, int, str]]:
    """Values assigned to secret-looking names: any value of a password-like name, high-entropy ones of others."""
    found = []
    done = 0
    for hit in NAME_WORD.finditer(text):
        if hit.start() < done:
            continue
        m = ASSIGNMENT.match(text, hit.end())
        if m is None:
            continue
        done = m.end()
        group = next(g for g in (1, 2, 3) if m.group(g) is not None)
        value = m.group(group)
        password = bool(PASSWORD_WORD.match(hit.group()))
        if _is_secret_value(value, password, quoted=group != 3):
            found.append((m.start(group), m.end(group), "password" if password else "secret assignment"))
    return found


def _is_secret_value(value: str, password: bool, quoted: bool) -> bool:
    v = value.strip()
    if len(v) < (4 if password else 16) or v.lower() in NOT_VALUES or PLACEHOLDER in v or v.startswith(
            ("$", "%", "/", "~/", "./")):  # a reference or a path (PWD=/home/me), not a literal secret
        return False
    reference = NAME_WORD.search(v) or "." in v or (v.isupper() and "_" in v)
    if not quoted and re.fullmatch(r"[A-Za-z_][\w.]*", v) and reference:
        return False  # code or a reference (password = self.password, token: TOKEN_ENV), not a literal
    return password or entropy(v) >= HIGH_ENTROPY


class Redactor:
    """Replaces known secret values and secret-shaped tokens in text; what it finds, it knows from then on."""

    def __init__(self, environ: Mapping[str, str] | None = None, values: Iterable[str] = ()):
        env = os.environ if environ is None else environ
        secrets = {(f"env {n}", v) for n, v in env.items() if is_secret_name(n) and len(v.strip()) >= MIN_ENV_VALUE}
        secrets |= {("secret", v) for v in values if len(v) >= MIN_ENV_VALUE}
        self.values = sorted(secrets, key=lambda kv: -len(kv[1]))
        self.known = KnownValues()
        for kind, value in self.values:
            self.known.add(value, kind)
        self.patterns = plugin_patterns() + EXTRA_PATTERNS

    def learn(self, value: str, kind: str) -> None:
        """Know `value` from now on, in its encodings and pieces too (a secret found in a file the agent read).

        Only token-like values (letters and digits mixed): a word a loose pattern matched must not make
        every piece of itself a secret."""
        if secret_like(value) and any(c.isdigit() for c in value) and any(c.isalpha() for c in value):
            self.known.add(value, kind)

    def learn_file(self, text: str, name: str) -> None:
        """Know the secrets of a secret file (.env, keys): its secret-named values, as the environment's are,
        and whatever the patterns find in it; a transform of them (`cut -c5- .env`) is then redacted too."""
        for m in ENV_LINE.finditer(text[:MAX_SECRET_FILE]):
            if is_secret_name(m.group(1)) and len(m.group(2).strip()) >= MIN_ENV_VALUE:
                self.known.add(m.group(2), f"{name} {m.group(1)}")
        self.spans(text[:MAX_SECRET_FILE])

    def spans(self, text: str) -> list[tuple[int, int, str]]:
        """Where the secrets are: (start, end, kind), possibly overlapping."""
        found = []
        for kind, rx in self.patterns:
            for m in rx.finditer(text):
                start, end = _secret_span(m)
                if end > start:
                    found.append((start, end, kind))
        found += assignment_spans(text)
        for start, end, kind in found:
            self.learn(text[start:end], kind)
        return found + self.known.spans(text)

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


def learn_secret_files(paths: Iterable[Path]) -> None:
    """Teach the process-wide redactor the secrets of these files (a session's .env and key files)."""
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        default_redactor().learn_file(text, path.name)


def redact_obj(obj: Any, keep: frozenset[str] = frozenset()) -> Any:
    """Redact every string inside a JSON-like value (dicts, lists, strings); values under `keep` keys stay."""
    if isinstance(obj, str):
        return redact(obj)
    if isinstance(obj, dict):
        return {k: v if k in keep else redact_obj(v, keep) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [redact_obj(v, keep) for v in obj]
    return obj


def refuse_placeholders(new_text: str, old_text: str) -> None:
    """Raise ToolError when a write would put a redaction placeholder where a real secret was."""
    if new_text.count(PLACEHOLDER) > old_text.count(PLACEHOLDER):
        raise ToolError(
            f"the new text contains a {PLACEHOLDER}...] placeholder: the real secret is hidden from you and "
            "writing the placeholder would destroy it; edit around that line instead (a smaller `old` text)"
        )
