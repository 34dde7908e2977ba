#!/bin/sh
# The mixed load test (benchmarks/load/load_test.py), with wrk installed first when it is
# missing (Debian's package; `make wrk` does the same). Arguments go to the script.
set -e
cd "$(dirname "$0")/../.."
if ! command -v wrk >/dev/null 2>&1; then
    echo "Installing wrk (Debian package) for the load test" >&2
    apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi
exec .venv/bin/python benchmarks/load/load_test.py "$@"
