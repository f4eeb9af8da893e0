"""API keys: where a user names the environment variable that holds one, and the rule that
keeps a key itself out of every message.

Options such as an endpoint's ``api_key_env`` or ``serve --api-key-env`` take the *name*
of a variable. A user who pastes the key there instead must get an error that does not
echo it (errors end up in terminals, logs and CI output), whether or not the key happens to
be a valid variable name (``ghp_...`` GitHub tokens and many others are).
"""

from __future__ import annotations

import re

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

#: Prefixes providers give their keys (OpenAI, Anthropic, GitHub, Hugging Face, Slack,
#: AWS, GitLab, Google, Stripe...).
KEY_PREFIXES = ("sk-", "sk_", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "hf_",
                "xoxa-", "xoxb-", "xoxp-", "xoxr-", "AKIA", "ASIA", "glpat-", "AIza", "pk_",
                "rk_")


def looks_like_key(value: str) -> bool:
    """Whether ``value`` looks like a key rather than a variable's name: a provider's key
    prefix, or a long random-looking token (>= 20 characters with digits and both letter
    cases, or >= 24 with digits and no underscore). ``OPENAI_API_KEY`` does not."""
    if value.startswith(KEY_PREFIXES):
        return True
    has_digit = any(c.isdigit() for c in value)
    mixed = any(c.islower() for c in value) and any(c.isupper() for c in value)
    return has_digit and ((len(value) >= 20 and mixed)
                          or (len(value) >= 24 and "_" not in value))


def key_variable_problem(value: str) -> str | None:
    """Why ``value`` cannot be the name of a variable holding a key (None: it can). The
    reason never contains ``value``."""
    if not _NAME.fullmatch(value):
        return ("must name an environment variable (letters, digits, underscores); the "
                "value given is not a name and is not shown, in case it is a key")
    if looks_like_key(value):
        return ("must name the environment variable that holds the key, but the value "
                "given looks like a key itself, so it is not shown")
    return None
