"""Counts the HTTP requests schemathesis made, from its NDJSON report (`st run --report ndjson`).

    python st_count.py REPORT.ndjson        # prints the count; the status histogram goes to stderr

Each finished scenario carries a recorder whose `interactions` are the request/response pairs it
sent; the count is their sum over all phases (examples, coverage, fuzzing, stateful).
"""

import collections
import json
import sys


def main() -> int:
    total = 0
    statuses: collections.Counter = collections.Counter()
    per_op: dict = collections.defaultdict(collections.Counter)
    five: list = []
    with open(sys.argv[1]) as f:
        for line in f:
            event = json.loads(line)
            scenario = event.get("ScenarioFinished")
            if not scenario:
                continue
            recorder = scenario.get("recorder") or {}
            for interaction in recorder.get("interactions", {}).values():
                total += 1
                response = interaction.get("response") or {}
                status = response.get("status_code", "no response")
                statuses[status] += 1
                per_op[recorder.get("label", "?")][status] += 1
                if isinstance(status, int) and status >= 500:
                    request = interaction.get("request") or {}
                    five.append(f"{request.get('method')} {request.get('uri')} -> {status}")
    hist = ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items(), key=lambda kv: str(kv[0])))
    print(f"schemathesis responses by status: {hist}", file=sys.stderr)
    if "-v" in sys.argv:
        for op, counts in sorted(per_op.items()):
            print(f"  {op}: " + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items(), key=lambda kv: str(kv[0]))),
                  file=sys.stderr)
    for line in five[:10]:
        print(f"  5xx: {line}", file=sys.stderr)
    print(total)
    return 0


if __name__ == "__main__":
    sys.exit(main())
