"""Counts findings in each peer tool's JSON output: total, or per rule."""
import collections
import json
import sys

tool, path, mode = sys.argv[1], sys.argv[2], sys.argv[3]
try:
    with open(path) as f:
        data = json.load(f)
except (OSError, ValueError):
    print("n/a")
    sys.exit(0)

rules = []
if tool == "secgate":
    for run in data["runs"]:
        rules += [r["ruleId"] for r in run["results"]]
elif tool == "kingfisher":
    items = data.get("findings", data) if isinstance(data, dict) else data
    for item in items:
        rule = item.get("rule", {})
        rules.append(rule.get("id") or rule.get("name") if isinstance(rule, dict) else str(rule))
elif tool == "gitleaks":
    rules = [item["RuleID"] for item in data]
elif tool == "trivy":
    for result in data.get("Results", []) or []:
        rules += [s["RuleID"] for s in result.get("Secrets", []) or []]

if mode == "total":
    print(len(rules))
else:
    for rule, count in collections.Counter(rules).most_common():
        print(f"{count:6d}  {rule}")
