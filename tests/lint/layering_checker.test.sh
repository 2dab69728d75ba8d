#!/usr/bin/env bash
# The layering check (tests/lint/layering.test.sh) fails when it should. Bad uses are planted
# in a copy of src/lib, include and docs/ARCHITECTURE.md (and, for a call, of the build's
# objects), and the checker must exit 1 naming the file, the line and the forbidden arrow.
# Also: a pending entry excuses its violation, a pending entry that matches nothing fails, a
# folder or header the rules do not place fails, and so does docs/ARCHITECTURE.md showing other
# rules. The copy's own violations of today are made pending first, so these cases hold
# whatever the real PENDING list holds.
set -euo pipefail

src=${TEELIZA_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=../lib/e2e.sh
. "$src/tests/lib/e2e.sh"
e2e_setup layering
checker="$src/tests/lint/layering.test.sh"
objects=${TEELIZA_BUILD:+$TEELIZA_BUILD/CMakeFiles/teeliza.dir}
tree="$tmp/tree"
mkdir -p "$tree/src"
cp -r "$src/src/lib" "$tree/src/lib"
cp -r "$src/include" "$tree/include"
mkdir "$tree/docs"
cp "$src/docs/ARCHITECTURE.md" "$tree/docs/"
if [ -n "$objects" ] && [ -d "$objects/src/lib" ]; then
	mkdir -p "$tmp/objects/src"
	cp -rs "$objects/src/lib" "$tmp/objects/src/lib" # links to the build's objects
else
	echo "SKIPPED PART: the call cases: no build objects (set TEELIZA_BUILD)"
fi

# The checker with PENDING replaced by the lines given on stdin.
with_pending() { # out-file
	awk -v list="$(cat)" '
		/^PENDING=\$\(cat <<.END.$/ { print; print list; skip = 1; next }
		skip && /^END$/ { skip = 0 }
		!skip' "$checker" >"$1"
}
run() { # checker -> $tmp/out, $tmp/err; status
	local rc=0
	if [ -d "$tmp/objects" ]; then
		bash "$1" "$tree" "$tmp/objects" >"$tmp/out" 2>"$tmp/err" || rc=$?
	else
		TEELIZA_BUILD="" bash "$1" "$tree" >"$tmp/out" 2>"$tmp/err" || rc=$?
	fi
	return "$rc"
}

# ---- the copy as it is, its violations pending: passes ----
with_pending "$tmp/bare.sh" </dev/null
run "$tmp/bare.sh" || true
grep -E '^[^ ]+:[0-9]+: [a-z_]+ may not ' "$tmp/err" | sed -E 's/^([^:]*):[0-9]+: /\1: /' >"$tmp/today" || true
echo "today's violations (made pending here): $(wc -l <"$tmp/today")"
with_pending "$tmp/check.sh" <"$tmp/today"
if run "$tmp/check.sh"; then ok "the copy passes with its violations pending"; else
	fail "the copy fails: $(cat "$tmp/err")"
fi

# ---- bad uses planted, each in a file of its own, all in one run ----
# plant WHAT FILE TEXT WANT: TEXT inserted before the first #include of FILE; the check must
# then fail with the line WANT on stderr, @ in WANT standing for the planted line's number.
whats=() wants=() planted=()
# (the agent's internal headers are found, not named: their names change more than its folders)
plant() {
	local file="$tree/$2" line
	line=$(grep -n -m1 '^#include' "$file" | cut -d: -f1)
	cp "$file" "$tmp/saved.${#planted[@]}"
	planted+=("$file")
	sed -i "${line}i\\$3" "$file"
	whats+=("$1")
	wants+=("${4//@/$line}")
}
plant "a lower part includes a higher one" src/lib/tee/rtmr.c '#include "teeliza/sim/simulator.h"' \
	'src/lib/tee/rtmr.c:@: tee may not include sim (teeliza/sim/simulator.h)'
plant "a public header includes a higher part's" include/teeliza/http/http.h '#include "teeliza/dcap/quote.h"' \
	'include/teeliza/http/http.h:@: http may not include dcap (teeliza/dcap/quote.h)'
plant "a relative include is found as the compiler finds it" src/lib/dcap/verify.c '#include "../tee/eventlog_internal.h"' \
	'src/lib/dcap/verify.c:@: dcap may not include tee (../tee/eventlog_internal.h)'
plant "the agent may not include the simulator" src/lib/agent/character/character.c '#include "teeliza/sim/simulator.h"' \
	'src/lib/agent/character/character.c:@: agent may not include sim (teeliza/sim/simulator.h)'
runtime_header=$(cd "$tree/src/lib" && find agent/runtime -maxdepth 1 -name '*.h' | sort | head -n 1)
plant "the agent's inner order: store below runtime" src/lib/agent/store/store.c "#include \"$runtime_header\"" \
	"src/lib/agent/store/store.c:@: store may not include runtime ($runtime_header)"
plant "the agent's public headers: eliza below model" include/teeliza/agent/eliza.h '#include "teeliza/agent/model.h"' \
	'include/teeliza/agent/eliza.h:@: eliza may not include model (teeliza/agent/model.h)'
api_header=$(cd "$tree/src/lib" && find agent/api -maxdepth 1 -name '*.h' | sort | head -n 1)
plant "the agent's inner order: tee_plugin below api" src/lib/agent/tee_plugin/tee_salt.c "#include \"$api_header\"" \
	"src/lib/agent/tee_plugin/tee_salt.c:@: tee_plugin may not include api ($api_header)"
plant "a forward-declared struct of a higher part" include/teeliza/tee/attest.h 'struct tee_sim_pki;' \
	'include/teeliza/tee/attest.h:@: tee may not use the type of sim (struct tee_sim_pki)'
plant "an include that cannot be found" src/lib/http/form.c '#include "no/such.h"' \
	'src/lib/http/form.c:@: cannot find "no/such.h" (in src/lib/http, src/lib or include)'
plant "a struct named in a comment is no use" include/teeliza/common/log.h '/* struct tee_sim_pki; */' ''
rc=0
run "$tmp/check.sh" || rc=$?
check_eq "the planted uses fail the check" "$rc" 1
for i in "${!whats[@]}"; do
	if [ -z "${wants[i]}" ]; then
		check_lacks "${whats[i]}" "$(cat "$tmp/err")" "common/log.h"
	elif grep -qxF -- "${wants[i]}" "$tmp/err"; then
		ok "${whats[i]}: ${wants[i]}"
	else
		fail "${whats[i]}: stderr lacks '${wants[i]}'"
	fi
	cp "$tmp/saved.$i" "${planted[i]}"
done
[ "$fails" -eq 0 ] || cat "$tmp/err" >&2

# ---- a call into a higher part, from an object compiled here ----
if [ -d "$tmp/objects" ]; then
	cat >"$tree/src/lib/tee/zz_planted.c" <<'EOF'
#include "teeliza/sim/simulator.h"
void zz_planted(void);
void zz_planted(void)
{
	tee_sim_stop(NULL);
}
EOF
	cc -c -I"$tree/include" -I"$tree/src/lib" -o "$tmp/objects/src/lib/tee/zz_planted.c.o" "$tree/src/lib/tee/zz_planted.c"
	rc=0
	run "$tmp/check.sh" || rc=$?
	check_eq "a call into a higher part fails" "$rc" 1
	check_has "  and names it" "$(cat "$tmp/err")" "src/lib/tee/zz_planted.c:5: tee may not call sim (tee_sim_stop)"
	rm -f "$tree/src/lib/tee/zz_planted.c" "$tmp/objects/src/lib/tee/zz_planted.c.o"
fi

# ---- pending entries ----
{ cat "$tmp/today"; echo "src/lib/tee/rtmr.c: tee may not include sim (teeliza/sim/simulator.h)"; } |
	with_pending "$tmp/check2.sh"
cp "$tree/src/lib/tee/rtmr.c" "$tmp/saved"
sed -i '1i #include "teeliza/sim/simulator.h"' "$tree/src/lib/tee/rtmr.c"
if run "$tmp/check2.sh"; then ok "a pending entry excuses its violation"; else fail "pending entry not honoured: $(cat "$tmp/err")"; fi
check_has "  and it is listed as pending" "$(cat "$tmp/out")" "pending: src/lib/tee/rtmr.c:1: tee may not include sim"
cp "$tmp/saved" "$tree/src/lib/tee/rtmr.c"
rc=0
run "$tmp/check2.sh" || rc=$?
check_eq "a pending entry that no longer occurs fails" "$rc" 1
check_has "  and says to delete it" "$(cat "$tmp/err")" \
	"pending entry no longer occurs (delete it from PENDING in $tmp/check2.sh): src/lib/tee/rtmr.c: tee may not include sim (teeliza/sim/simulator.h)"

# ---- what the rules do not place ----
mkdir "$tree/src/lib/plugins"
echo 'int zz_unplaced;' >"$tree/src/lib/plugins/x.c"
rc=0
run "$tmp/check.sh" || rc=$?
check_eq "a folder that is no part fails" "$rc" 1
check_has "  and says so" "$(cat "$tmp/err")" "src/lib/plugins/x.c: its part plugins is not in the rules"
rm -r "$tree/src/lib/plugins"
echo '/* nothing */' >"$tree/include/teeliza/agent/zz_orphan.h"
rc=0
run "$tmp/check.sh" || rc=$?
check_eq "an agent header no part owns fails" "$rc" 1
check_has "  and says how to place it" "$(cat "$tmp/err")" "include/teeliza/agent/zz_orphan.h: in no part"
rm "$tree/include/teeliza/agent/zz_orphan.h"

# ---- docs/ARCHITECTURE.md must show the same rules ----
sed -i 's/^\(| api |.*\), tee_plugin |$/\1 |/' "$tree/docs/ARCHITECTURE.md"
rc=0
run "$tmp/check.sh" || rc=$?
check_eq "a table in docs/ARCHITECTURE.md that differs from the rules fails" "$rc" 1
check_has "  and says how" "$(cat "$tmp/err")" \
	"docs/ARCHITECTURE.md: the api row says it may use 'character eliza store model runtime', the rules say 'character eliza store model runtime tee_plugin'"
cp "$src/docs/ARCHITECTURE.md" "$tree/docs/"

e2e_finish "layering checker"
