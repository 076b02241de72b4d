#!/usr/bin/env python3
"""Rewrites README.md's table of validated providers from
config/secret-validators.toml (tests/validation.rs checks they agree).

    python3 scripts/validators_table.py
"""
import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def how(v):
    """Where the secret goes in the request."""
    parts = []
    for name, value in v.get("headers", {}).items():
        if "{secret}" in value or "{companion}" in value:
            parts.append(f"`{name}: {value}`")
    if "basic-auth" in v:
        user, password = v["basic-auth"]
        parts.append(f"Basic `{user}:{password}`")
    if v.get("signing") == "aws-sigv4":
        parts.append("SigV4 signature with the access key id found beside it (the secret key is never sent)")
    path = v["path"]
    if path == "{secret-path}":
        parts.append("the webhook URL's own path, read-only GET")
    elif "{secret}" in path:
        parts.append("in the query" if "?" in path and path.index("{secret}") > path.index("?") else "in the path")
    return "; ".join(parts)


def condition(table):
    def value(x):
        if isinstance(x, bool):
            return "true" if x else "false"
        return f'"{x}"' if isinstance(x, str) else str(x)
    shown = []
    for pointer, expected in table.items():
        if isinstance(expected, list):
            shown.append(f"`{pointer}` one of {', '.join(value(e) for e in expected)}")
        else:
            shown.append(f"`{pointer}` = {value(expected)}")
    return ", ".join(shown)


def answer(v):
    text = f"valid {'/'.join(map(str, v['valid']))}"
    if v.get("valid-json"):
        text += " with " + condition(v["valid-json"])
    invalid = []
    if v.get("invalid"):
        invalid.append("/".join(map(str, v["invalid"])))
    if v.get("invalid-json"):
        invalid.append(condition(v["invalid-json"]))
    if invalid:
        text += "; invalid " + " or ".join(invalid)
    return text


def main():
    validators = tomllib.loads((REPO / "config/secret-validators.toml").read_text())["validator"]
    rows = ["| provider | service | request | the secret goes | answer |", "|---|---|---|---|---|"]
    for v in validators:
        path = "/api/webhooks/…" if v["path"] == "{secret-path}" else v["path"]
        request = f"`{v.get('method', 'GET')} {v['endpoint'].rstrip('/')}{path}`"
        rows.append(f"| `{v['provider']}` | {v['title']} | {request} | {how(v)} | {answer(v)} |")
    readme = (REPO / "README.md").read_text()
    table = re.compile(r"^\| provider \| service \|.*?\n(?=\n)", re.S | re.M)
    assert table.search(readme), "README has no validators table"
    readme = table.sub("\n".join(rows) + "\n", readme, count=1)
    readme = re.sub(r"The \d+ validated providers", f"The {len(validators)} validated providers", readme)
    (REPO / "README.md").write_text(readme)
    print(f"{len(validators)} validators in the README")


if __name__ == "__main__":
    main()
