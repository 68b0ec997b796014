#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian machine, then runs
# the linters, the type checker and the whole test suite.
#
# Python packages go into a virtual environment (.venv, or $KARABAKH_KG_VENV), since
# Debian's Python refuses `pip install` outside one (PEP 668).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v dot >/dev/null 2>&1 || need_apt+=(graphviz)
command -v virtuoso-t >/dev/null 2>&1 || need_apt+=(virtuoso-opensource)
if [ ${#need_apt[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

venv="${KARABAKH_KG_VENV:-.venv}"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
export PATH="$(cd "$venv" && pwd)/bin:$PATH"

python -m pip install -q --disable-pip-version-check -e '.[test]'

python -m ruff check .
python -m ruff format --check .
python -m mypy ontology graph server
# Test files run in parallel processes (pytest-xdist), each file whole in one process so that
# its module fixtures start once: much of the suite waits on the servers, engines and
# browsers it starts, so three processes keep two cores busy.
python -m pytest -q -n "${KARABAKH_KG_TEST_PROCESSES:-3}" --dist loadfile "$@"
