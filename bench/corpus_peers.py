#!/usr/bin/env python3
"""Recall and false alarms per class of tests/fixtures/secrets-corpus for
secgate and the peer scanners (gitleaks, Kingfisher), measured the same way:
each case is written as its own file (the path its header names) and counts
as found when the scanner reports anything in that file.

    bench/corpus_peers.py [--secgate BIN] [--verbose]

The peers come from bench/.venv (bench/secrets.sh installs them); secgate
from target/release/secgate (built if missing). Prints one table. Nothing
here uses the network. Our corpus was written by the team that writes the
rules, so secgate's figures flatter it; the peers' are an honest outside view
of the same cases (and show the kinds a peer knows and we miss)."""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "tests/fixtures/secrets-corpus"
CLASSES = ["providers", "connection-strings", "syntaxes", "false-alarms"]
VENV = REPO / "bench/.venv/bin"


def cases(text):
    """(positive, label, path, text) for each `### +label @ path` case."""
    found = []
    for line in text.splitlines():
        if line.startswith("### "):
            sign, rest = line[4], line[5:]
            label, _, path = rest.partition(" @ ")
            found.append([sign == "+", label.strip(), path.strip() or "snippet.txt", ""])
        elif found:
            found[-1][3] += line + "\n"
    return found


def files_flagged_secgate(binary, root, out):
    sarif = out / "secgate.sarif"
    subprocess.run([binary, "secrets", str(root), "--sarif", str(sarif), "-q",
                    "--config", str(out / "empty.toml")], capture_output=True)
    document = json.loads(sarif.read_text())
    flagged = set()
    for run in document["runs"]:
        for result in run.get("results", []):
            uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            flagged.add(uri)
    return flagged


def files_flagged_gitleaks(root, out):
    report = out / "gitleaks.json"
    subprocess.run([str(VENV / "gitleaks"), "dir", str(root), "--no-banner", "--redact",
                    "-f", "json", "-r", str(report)], capture_output=True)
    return {os.path.relpath(f["File"], root) for f in json.loads(report.read_text() or "[]")}


def files_flagged_kingfisher(root, out):
    report = out / "kingfisher.json"
    subprocess.run([str(VENV / "kingfisher"), "scan", str(root), "--no-validate",
                    "--no-update-check", "--format", "json", "-o", str(report)],
                   capture_output=True)
    text = report.read_text() if report.exists() else ""
    flagged = set()
    # Kingfisher's JSON has varied between versions: take every file path it names.
    for match in re.finditer(r'"(?:path|file|file_path)"\s*:\s*"([^"]+)"', text):
        path = match.group(1)
        if path.startswith(str(root)):
            flagged.add(os.path.relpath(path, root))
    return flagged


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--secgate", default=str(REPO / "target/release/secgate"))
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    if not Path(args.secgate).exists():
        subprocess.run(["cargo", "build", "--release", "-q"], cwd=REPO, check=True)
    tools = {"secgate": lambda r, o: files_flagged_secgate(args.secgate, r, o)}
    if (VENV / "gitleaks").exists():
        tools["gitleaks"] = files_flagged_gitleaks
    if (VENV / "kingfisher").exists():
        tools["kingfisher"] = files_flagged_kingfisher
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        out = scratch / "out"
        out.mkdir()
        (out / "empty.toml").write_text("")
        for name in CLASSES:
            root = scratch / name
            entries = []
            for index, (positive, label, path, text) in enumerate(
                    cases((CORPUS / f"{name}.txt").read_text())):
                # Hidden file names stay as they are: they are what the case is about.
                file = root / f"case{index:03}" / path
                file.parent.mkdir(parents=True, exist_ok=True)
                file.write_text(text)
                entries.append((positive, label, f"case{index:03}/{path}"))
            for tool, flagged_files in tools.items():
                flagged = flagged_files(root, out)
                hit = lambda rel: rel in flagged
                positives = [e for e in entries if e[0]]
                negatives = [e for e in entries if not e[0]]
                found = sum(hit(e[2]) for e in positives)
                alarms = sum(hit(e[2]) for e in negatives)
                rows.append((name, tool, found, len(positives), alarms, len(negatives)))
                if args.verbose:
                    for positive, label, rel in entries:
                        if positive != hit(rel):
                            kind = "missed" if positive else "false alarm"
                            print(f"  {tool:10} {name:18} {kind:11} {label}", file=sys.stderr)
    print(f"{'class':20} {'tool':11} {'found':>10} {'false alarms':>13}")
    for name, tool, found, positives, alarms, negatives in rows:
        share = f"{found}/{positives}" if positives else "-"
        print(f"{name:20} {tool:11} {share:>10} {alarms:>7}/{negatives:<5}")


if __name__ == "__main__":
    main()
