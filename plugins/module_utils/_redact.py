# -*- coding: utf-8 -*-
# Copyright: Contributors to the tines.cases collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to the tines.cases collection, not a public API: it may change in any release.
"""Every rule about keeping secrets out of what users see, in one place.

The client masks its messages with it, the adapters mask results and `invocation`,
the lookup and the event source mask what they hand over. Masking is done here rather
than left to Ansible, whose no_log handling differs between releases (2.22 no longer
masks a module's result) and never reaches text a library or a server made up.
"""

from __future__ import annotations

import json
from urllib.parse import quote, quote_plus

MASK = "********"
NO_LOG_PLACEHOLDER = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"


def secret_forms(secret):
    """Every way `secret` can show up in text: as given, stripped, and escaped as Python, JSON or a URL would."""
    forms = set()
    for text in (str(secret), str(secret).strip()):
        forms.update(
            (
                text,
                repr(text)[1:-1],
                json.dumps(text)[1:-1],
                json.dumps(text, ensure_ascii=False)[1:-1],
                text.encode("unicode_escape").decode("ascii"),
                str(text.encode("utf-8", "surrogateescape"))[2:-1],
                quote(text, safe=""),
                quote_plus(text),
            )
        )
    return sorted((form for form in forms if form.strip()), key=len, reverse=True)


def redact_text(text, secrets):
    """`text` with each of `secrets` (longest first) masked."""
    for form in secrets:
        text = text.replace(form, MASK)
    return text


def secrets_of(argument_spec, params):
    """Every text form of every no_log option the task was given, longest first."""
    forms = set()
    for name, spec in argument_spec.items():
        value = params.get(name)
        if spec.get("no_log") and isinstance(value, str) and value.strip():
            forms.update(secret_forms(value))
    return sorted(forms, key=len, reverse=True)


def redact(value, secrets):
    """A copy of a result with every secret masked, in keys and values at any depth."""
    if not secrets:
        return value
    if isinstance(value, str):
        return redact_text(value, secrets)
    if isinstance(value, dict):
        return {redact(key, secrets): redact(item, secrets) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(item, secrets) for item in value]
    return value


def invocation(argument_spec, params):
    """What a module reports as `invocation`: the parameters it was given, no_log options and their text masked."""
    given = {
        name: NO_LOG_PLACEHOLDER if argument_spec.get(name, {}).get("no_log") and value is not None else value
        for name, value in params.items()
    }
    return {"module_args": redact(given, secrets_of(argument_spec, params))}
