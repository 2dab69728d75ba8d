#!/usr/bin/env bash
# docs/ARCHITECTURE.md names files and functions; they must exist, so that the page stays true
# when code moves. Each `quoted` name on the page is checked:
#   src/..., include/..., tests/..., scripts/...   that path (a * in it is a glob)
#   NAME.c, NAME.h, part/NAME.c, NAME_*.c          a file under src/ or include/ whose path ends so
#   name/                                          a folder under src/ of that name
#   name()                                         a function defined in src/ or include/
# And every folder of src/lib and src/lib/agent has its row on the page and its line in the
# README's Layout section. Last, the check is run on a copy of the page with a name planted that
# does not exist, and must fail.
#
# usage: architecture_paths.test.sh [SOURCE_TREE]
set -euo pipefail
root=${1:-${TEELIZA_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}}
cd "$root"

shopt -s globstar
# Every name followed by "(" in src/ and include/, read once.
declare -A called=()
while read -r f; do called[$f]=1; done < <(grep -rhoE '[A-Za-z_][A-Za-z0-9_]*\(' src include | sort -u)

# check_doc PAGE: print each name PAGE gives that does not exist; exit status 1 when any.
check_doc() {
	local page=$1 bad=0 name found
	mapfile -t names < <(grep -o '`[^`]*`' "$page" | tr -d '`' | sort -u)
	for name in "${names[@]}"; do
		[[ $name == *"<"* || $name == *" "* ]] && continue # a pattern (`include/teeliza/<part>/`) or code
		found=yes
		case $name in
		src/* | include/* | tests/* | scripts/* | docs/*)
			compgen -G "$name" >/dev/null || found=no # the name may be a glob
			;;
		*.c | *.h)
			compgen -G "src/**/$name" >/dev/null || compgen -G "include/**/$name" >/dev/null || found=no
			;;
		*/)
			compgen -G "src/**/$name" >/dev/null || found=no
			;;
		*"()")
			[ -n "${called[${name%)}]:-}" ] || found=no
			;;
		*) continue ;;
		esac
		if [ "$found" = no ]; then
			echo "$page: \`$name\` names nothing in the tree" >&2
			bad=1
		fi
	done
	return "$bad"
}

fails=0
doc=docs/ARCHITECTURE.md
check_doc "$doc" || fails=$((fails + 1))

# every part's folder has its row here and its line in the README's Layout
layout=$(sed -n '/^## Layout/,/^## /p' README.md)
for d in src/lib/*/; do
	p=$(basename "$d")
	grep -q "^| $p |" "$doc" || { echo "$doc: no row for src/lib/$p" >&2; fails=$((fails + 1)); }
	grep -q "src/lib/$p/" <<<"$layout" || { echo "README.md Layout: no line for src/lib/$p/" >&2; fails=$((fails + 1)); }
done
agent_line=$(grep '^src/lib/agent/' <<<"$layout" || true)
for d in src/lib/agent/*/; do
	p=$(basename "$d")
	grep -q "^| $p |" "$doc" || { echo "$doc: no row for src/lib/agent/$p" >&2; fails=$((fails + 1)); }
	grep -qw "$p/" <<<"$agent_line" || { echo "README.md Layout: src/lib/agent/ line does not name $p/" >&2; fails=$((fails + 1)); }
done

# the check can fail: a copy of the page naming files, a folder and a function that do not exist
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for planted in '`src/lib/common/nowhere.c`' '`nowhere_at_all.c`' '`http/nowhere.h`' '`nowhere_fn()`' '`nowhere_dir/`'; do
	{ cat "$doc"; echo "planted: $planted"; } >"$tmp/page.md"
	if check_doc "$tmp/page.md" 2>/dev/null; then
		echo "FAIL: the check accepts a page naming $planted" >&2
		fails=$((fails + 1))
	fi
done

if [ "$fails" -ne 0 ]; then
	echo "FAIL: $fails problem(s) (above)" >&2
	exit 1
fi
echo "ok: every file, folder and function docs/ARCHITECTURE.md names exists; every part has its row and README line"
