#!/usr/bin/env bash
# The agent's layering, read from the built objects' symbols (scripts/call-graph.py):
# - the REST API's files (src/lib/agent/api) call one way: no two of them call
#   each other, directly or round a loop (route files fill tables the server
#   walks; they never call back into it);
# - no part of the agent (src/lib/agent) uses the simulator (tee_sim_*, or a
#   teeliza/sim header): the CLI hands the API what it needs of it.
# - and in the whole library (src/lib) no two files call each other, directly
#   or round a loop: a part that offers hooks owns the interface (the
#   runtime's plugins, the store's back-ends, the model's implementations).
set -euo pipefail
: "${TEELIZA_SRC:?}" "${TEELIZA_BUILD:?}"
command -v nm >/dev/null || { echo "skip: no nm (binutils)"; exit 77; }
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"
objdir="$TEELIZA_BUILD/CMakeFiles/teeliza.dir"
objects() {
	local src
	for src in "$@"; do
		if [ ! -f "$objdir/${src#"$TEELIZA_SRC"/}.o" ]; then
			echo "FAIL: no object for $src under $objdir (is this a CMake build of libteeliza?)" >&2
			exit 1
		fi
		echo "$objdir/${src#"$TEELIZA_SRC"/}.o"
	done
}
mapfile -t api < <(objects "$TEELIZA_SRC"/src/lib/agent/api/*.c)
if ! out=$(python3 "$TEELIZA_SRC/scripts/call-graph.py" "${api[@]}"); then
	fail "the REST API's files call each other:"$'\n'"$out"
else
	ok "no call cycle among the ${#api[@]} files of src/lib/agent/api"
fi
mapfile -t agent < <(objects $(find "$TEELIZA_SRC/src/lib/agent" -name '*.c' | sort))
if ! out=$(python3 "$TEELIZA_SRC/scripts/call-graph.py" --no-cycles --forbid '^tee_sim_' "${agent[@]}"); then
	fail "the agent uses the simulator:"$'\n'"$out"
else
	ok "no symbol of the simulator used by the ${#agent[@]} files of src/lib/agent"
fi
mapfile -t lib < <(objects $(find "$TEELIZA_SRC/src/lib" -name '*.c' | sort))
if ! out=$(python3 "$TEELIZA_SRC/scripts/call-graph.py" "${lib[@]}"); then
	echo "FAIL: files of the library call each other:" >&2
	echo "$out" >&2
	fails=$((fails + 1))
else
	echo "ok: no call cycle among the ${#lib[@]} files of src/lib"
fi
if grep -rn '#include "teeliza/sim/\|#include "sim/' "$TEELIZA_SRC/src/lib/agent" "$TEELIZA_SRC/include/teeliza/agent"; then
	fail "the agent includes the simulator's headers (above)"
else
	ok "no simulator header included by the agent"
fi
e2e_finish "agent layer"
