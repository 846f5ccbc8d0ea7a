#!/usr/bin/env python3
"""The Python baseline for BenchmarkHookExec: the same job as claude-hooks-hook.

Stamps the receive time, reads the hook payload from stdin, parses it as JSON,
and appends one JSON line to the file named by argv[1] (O_APPEND, under an
exclusive fcntl.flock), as a typical Python hook script does.
"""
import fcntl
import json
import os
import sys
import time


def main() -> int:
    received = time.time_ns()
    payload = json.loads(sys.stdin.buffer.read())
    record = {"v": 1, "id": os.urandom(16).hex(), "t": received, "src": "hook", "p": payload}
    line = ("\n" + json.dumps(record, separators=(",", ":")) + "\n").encode()
    fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, line)
    finally:
        os.close(fd)
    return 0


if __name__ == "__main__":
    sys.exit(main())
