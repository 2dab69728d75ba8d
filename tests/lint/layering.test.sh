#!/usr/bin/env bash
# Layering: no part of libteeliza uses a part above it (docs/ARCHITECTURE.md).
#
# Every file of src/lib/** and include/teeliza/** is checked for three kinds of use:
#   include  each #include "X", found as the compiler finds it (the file's folder, src/lib, include)
#   call     each function or object its object file takes from another part's objects
#            (nm of the build's objects; without them this part is skipped, and says so)
#   type     each `struct NAME` it names (a forward declaration needs no include) whose
#            struct is defined in another part
# A use is allowed when both files are in the same part or the user's part lists the
# other below. Internal headers count as the part of their folder; src/cli may use
# everything and is not checked. The "may use" columns of docs/ARCHITECTURE.md's tables
# must say what the rules below say.
#
# usage: layering.test.sh [SOURCE_TREE [OBJECTS]]
#   SOURCE_TREE  default $TEELIZA_SRC, else this file's ../..
#   OBJECTS      the folder holding src/lib/**/X.c.o, default $TEELIZA_BUILD/CMakeFiles/teeliza.dir
# Exit 0 when every use is allowed or pending (below), 1 otherwise; each violation is one
# line on stderr: FILE:LINE: PART may not include|call|use OTHER (WHAT).
set -euo pipefail

# ---- the rules ---------------------------------------------------------------------------------
# part: the parts it may use besides itself, lowest part first.
RULES=$(cat <<'END'
common:
http:        common
dcap:        common http
tee:         common http dcap
sim:         common http dcap tee
agent:       common http dcap tee
END
)
# Inside the agent (src/lib/agent/PART/), lowest first. store, character and eliza stand side
# by side; the two uses between them are allowed: character ids are UUIDs (uuid.h is store's)
# and the offline responder's persona is made from the character.
AGENT_RULES=$(cat <<'END'
store:
character:   store
eliza:       character
model:       character eliza store
runtime:     character eliza store model
tee_plugin:  character eliza store model runtime
api:         character eliza store model runtime tee_plugin
END
)
# include/teeliza/agent/NAME.h belongs to the agent part whose folder holds NAME.c; a header
# without such a file is named here ("NAME.h: part").
AGENT_HEADERS=$(cat <<'END'
api.h: api
END
)
# Violations known today and being removed on other branches (issue 9): each line is one as
# reported below, without its line number. Delete a line when its fix lands: a line that no
# longer matches a violation fails the check, so this list cannot go stale.
PENDING=$(cat <<'END'
END
)
# --------------------------------------------------------------------------------------------------

root=${1:-${TEELIZA_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}}
objects=${2:-${TEELIZA_BUILD:+$TEELIZA_BUILD/CMakeFiles/teeliza.dir}}
self=$(realpath "$0")
cd "$root"
[ -d src/lib ] && [ -d include/teeliza ] || { echo "FAIL: $root has no src/lib and include/teeliza" >&2; exit 1; }

declare -A may=() agent_may=() header_part=() part=() struct_part=() symbol_part=() pending_seen=()
problems=0
problem() { # an error of the tree or of the rules, not a layering violation
	echo "$*" >&2
	problems=$((problems + 1))
}
load_rules() { # text array-name
	local line name uses
	local -n into=$2
	while IFS= read -r line; do
		line=${line%%#*}
		[[ $line == *:* ]] || continue
		name=${line%%:*}
		read -ra uses <<<"${line#*:}"
		# shellcheck disable=SC2034 # into: a nameref to the caller's array
		into[$name]=" ${uses[*]} "
	done <<<"$1"
}
load_rules "$RULES" may
load_rules "$AGENT_RULES" agent_may
while read -r h p; do
	[ -n "$h" ] && header_part[${h%:}]=$p
done <<<"$AGENT_HEADERS"
# The agent's public headers: NAME.h belongs to the folder of src/lib/agent/*/NAME.c (when one holds it).
while IFS= read -r c; do
	name=${c##*/}
	dir=${c%/*}
	if [ -n "${header_part[${name%.c}.h]:-}" ]; then continue; fi
	header_part[${name%.c}.h]=${dir##*/}
done < <(find src/lib/agent -mindepth 2 -maxdepth 2 -name '*.c' | sort)

# The part of each file: "agent/INNER" for the agent's parts, else the part's name.
mapfile -t files < <(find src/lib include/teeliza -type f \( -name '*.c' -o -name '*.h' \) | sort)
for f in "${files[@]}"; do
	case $f in
	src/lib/agent/*/*) p=${f#src/lib/agent/} p=agent/${p%%/*} ;;
	include/teeliza/agent/*.h) p=${header_part[${f##*/}]:+agent/${header_part[${f##*/}]}} ;;
	src/lib/agent/* | include/teeliza/agent/*) p="" ;;
	src/lib/*/*) p=${f#src/lib/} p=${p%%/*} ;;
	include/teeliza/*/*) p=${f#include/teeliza/} p=${p%%/*} ;;
	*) p="" ;;
	esac
	if [ -z "$p" ]; then
		problem "$f: in no part (the agent's files go in its parts' folders; an agent header needs NAME.c in one of them, or a line in AGENT_HEADERS)"
	elif [[ $p == agent/* && -z ${agent_may[${p#agent/}]+set} ]] || [[ $p != agent/* && -z ${may[$p]+set} ]]; then
		problem "$f: its part ${p#agent/} is not in the rules (RULES, AGENT_RULES in $self)"
	else
		part[$f]=$p
	fi
done

# check FILE LINE KIND USED WHAT: record a violation when FILE's part may not KIND the part USED.
violations=()
check() {
	local u=${part[$1]} p=$4 words
	[ "$u" = "$p" ] && return 0
	if [[ $u == agent/* && $p == agent/* ]]; then
		[[ ${agent_may[${u#agent/}]} == *" ${p#agent/} "* ]] && return 0
		words="${u#agent/} may not $3 ${p#agent/}"
	else
		[[ ${may[${u%%/*}]} == *" ${p%%/*} "* ]] && return 0
		words="${u%%/*} may not $3 ${p%%/*}"
	fi
	violations+=("$1:$2: $words ($5)")
}

# ---- include ----
n_includes=0
re='^[[:space:]]*#[[:space:]]*include[[:space:]]*"([^"]*)"'
while IFS=: read -r f line text; do
	[ -n "${part[$f]:-}" ] || continue
	[[ $text =~ $re ]] || continue
	inc=${BASH_REMATCH[1]}
	target=""
	for cand in "${f%/*}/$inc" "src/lib/$inc" "include/$inc"; do
		if [ -f "$cand" ]; then
			target=$cand
			[[ $target != *../* ]] || target=$(realpath -m --relative-to=. "$target")
			break
		fi
	done
	if [ -z "$target" ]; then
		problem "$f:$line: cannot find \"$inc\" (in ${f%/*}, src/lib or include)"
	elif [ -n "${part[$target]:-}" ]; then
		n_includes=$((n_includes + 1))
		check "$f" "$line" include "${part[$target]}" "$inc"
	fi
done < <(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "${files[@]}")

# ---- type ----
# Without comments, each file yields: "B FILE NAME" for a struct body it defines, "T FILE NAME"
# for a typedef of a struct, "M FILE LINE NAME" for the first line naming struct NAME.
n_types=0
declare -A body_in=()
types=$(awk '
	FNR == 1 { in_c = 0; delete seen }
	{
		out = ""; s = $0
		while (s != "") {
			if (in_c) { i = index(s, "*/"); if (!i) { s = ""; break } s = substr(s, i + 2); in_c = 0; continue }
			i = index(s, "/*"); j = index(s, "//")
			if (j && (!i || j < i)) { out = out substr(s, 1, j - 1); break }
			if (i) { out = out substr(s, 1, i - 1) " "; s = substr(s, i + 2); in_c = 1; continue }
			out = out s; s = ""
		}
		while (match(out, /(^|[^A-Za-z0-9_])struct[ \t]+[A-Za-z_][A-Za-z0-9_]*[ \t]*\{?/)) {
			m = substr(out, RSTART, RLENGTH); out = substr(out, RSTART + RLENGTH)
			body = m ~ /\{$/
			sub(/^.*struct[ \t]+/, "", m); sub(/[ \t]*\{$/, "", m)
			if (body) print "B", FILENAME, m
			if (!(m in seen)) { seen[m] = 1; print "M", FILENAME, FNR, m }
		}
	}
	/typedef[ \t]+struct[ \t]+[A-Za-z_]/ && FILENAME ~ /\.h$/ {
		t = $0; sub(/^.*typedef[ \t]+struct[ \t]+/, "", t); sub(/[^A-Za-z0-9_].*$/, "", t); print "T", FILENAME, t
	}' "${files[@]}")
# A struct belongs to the part that defines its body (in two parts: to neither, not checked),
# an opaque one to the part whose header names it in a typedef.
while read -r kind f a _; do
	[ -n "${part[$f]:-}" ] || continue
	case $kind in
	B) if [ -z "${body_in[$a]:-}" ] || [ "${body_in[$a]}" = "${part[$f]}" ]; then body_in[$a]=${part[$f]}; else body_in[$a]=-; fi ;;
	T) [ -n "${struct_part[$a]:-}" ] || struct_part[$a]=${part[$f]} ;;
	esac
done <<<"$types"
for name in "${!body_in[@]}"; do struct_part[$name]=${body_in[$name]}; done
while read -r kind f line name; do
	[ "$kind" = M ] && [ -n "${part[$f]:-}" ] || continue
	owner=${struct_part[$name]:-}
	[ -n "$owner" ] && [ "$owner" != - ] || continue
	n_types=$((n_types + 1))
	check "$f" "$line" "use the type of" "$owner" "struct $name"
done <<<"$types"

# ---- call ----
n_calls=0
calls_checked=no
if [ -n "$objects" ] && [ -d "$objects/src/lib" ]; then
	calls_checked=yes
	objs=()
	for f in "${files[@]}"; do
		[[ $f == *.c && -n "${part[$f]:-}" ]] || continue
		if [ -f "$objects/$f.o" ]; then objs+=("$objects/$f.o"); else problem "$f: no object file $objects/$f.o (build first)"; fi
	done
	# "FILE SYMBOL U" for what a file takes, "FILE SYMBOL D" for what it defines (global)
	syms=$(nm -P -A "${objs[@]}" | awk -v pre="$objects/" '
		{ f = $1; sub(/:$/, "", f); sub(/\.o$/, "", f); f = substr(f, length(pre) + 1) }
		$3 == "U" { print f, $2, "U" }
		$3 ~ /^[TDBRCVW]$/ { print f, $2, "D" }')
	while read -r f sym kind; do
		[ "$kind" = D ] && symbol_part[$sym]=${part[$f]}
	done <<<"$syms"
	while read -r f sym kind; do
		[ "$kind" = U ] || continue
		owner=${symbol_part[$sym]:-}
		[ -n "$owner" ] || continue # libc, OpenSSL, ...
		n_calls=$((n_calls + 1))
		n=${#violations[@]}
		check "$f" 0 call "$owner" "$sym"
		if [ "${#violations[@]}" != "$n" ]; then # name the line that calls it
			line=$(grep -nwm1 -- "$sym" "$f" | cut -d: -f1)
			violations[n]=${violations[n]/:0: /:${line:-0}: }
		fi
	done <<<"$syms"
else
	echo "SKIPPED PART: calls not checked: no objects folder (${objects:-none}); build first, or set TEELIZA_BUILD"
fi

# ---- docs/ARCHITECTURE.md shows the same rules ----
# Its tables' rows "| part | ... | may use |": the part names in the last cell are the rules' list.
doc=docs/ARCHITECTURE.md
if [ -f "$doc" ]; then
	declare -A doc_seen=()
	while IFS='|' read -ra cells; do
		name=$(echo ${cells[1]})
		last=${cells[${#cells[@]} - 1]}
		if [ -n "${may[$name]+set}" ]; then want=${may[$name]}; elif [ -n "${agent_may[$name]+set}" ]; then want=${agent_may[$name]}; else continue; fi
		got=""
		for w in ${last//,/ }; do
			[[ -z ${may[$w]+set} && -z ${agent_may[$w]+set} ]] || got+=" $w"
		done
		got=$(echo $got) want=$(echo $want)
		[ "$got" = "$want" ] || problem "$doc: the $name row says it may use '$got', the rules say '$want'"
		doc_seen[$name]=1
	done < <(grep -E '^\| [a-z_]+ \|' "$doc")
	for name in "${!may[@]}" "${!agent_may[@]}"; do
		[ -n "${doc_seen[$name]:-}" ] || problem "$doc: no row for the part $name"
	done
fi

# ---- verdict ----
failed=0
pending=$(sed -E 's/#.*//; s/^[[:space:]]+//; s/[[:space:]]+$//; /^$/d' <<<"$PENDING")
declare -A is_pending=()
while IFS= read -r entry; do [ -z "$entry" ] || is_pending[$entry]=1; done <<<"$pending"
while IFS= read -r v; do
	[ -n "$v" ] || continue
	key=${v%%:*}:${v#*:*:}
	if [ -n "${is_pending[$key]:-}" ]; then
		echo "pending: $v"
		pending_seen[$key]=1
	else
		echo "$v" >&2
		failed=$((failed + 1))
	fi
done < <(printf '%s\n' "${violations[@]}" | sort -t: -k1,1 -k2,2n -u)
while IFS= read -r entry; do
	[ -n "$entry" ] && [ -z "${pending_seen[$entry]:-}" ] || continue
	[[ $calls_checked == no && $entry == *" may not call "* ]] && continue
	problem "pending entry no longer occurs (delete it from PENDING in $self): $entry"
done <<<"$pending"

echo "checked ${#files[@]} files: $n_includes includes, $n_types struct names, $n_calls calls into the library" \
	"(calls checked: $calls_checked); ${#pending_seen[@]} pending"
if [ "$failed" -ne 0 ] || [ "$problems" -ne 0 ]; then
	echo "FAIL: $failed layering violation(s), $problems other problem(s) (above; the rules are at the top of $self)" >&2
	exit 1
fi
echo "ok: no part uses a part above it"
