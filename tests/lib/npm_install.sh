# shellcheck shell=bash
# Sourced by the tests that run JS packages from the npm registry
# (tests/interop/*.test.sh, tests/e2e/dashboard_browser.test.sh).
#
#   npm_install_pinned DIR NAME@VERSION...
#
# A spec may be an npm alias, ALIAS@npm:NAME@VERSION (package.json's
# "ALIAS": "npm:NAME@VERSION"): NAME installed as DIR/node_modules/ALIAS,
# so two versions of one package can sit side by side. Peer dependencies are
# not resolved (--legacy-peer-deps): every package a test runs is pinned
# here, and an optional peer range of one pinned package (dstack-sdk 0.5.8
# wants @solana/web3.js ^1.98.4) must not veto another pinned version.
#
# Installs the packages, at exactly those versions, into DIR/node_modules (DIR
# is under the build directory, which git ignores); packages already there at
# those versions are not asked for again. When npm fails, npm's own output is
# printed with the reason, and the calling test exits 1: a test whose
# dependencies could not be installed fails, it never passes without them.

npm_install_pinned() {
	local dir=$1 spec name version have missing=()
	shift
	if ! command -v npm >/dev/null 2>&1; then
		echo "FAIL: npm is not installed, so $* cannot be installed (scripts/install-deps.sh installs nodejs and npm)" >&2
		exit 1
	fi
	for spec in "$@"; do
		name=${spec%@*}
		name=${name%%@npm:*}
		version=${spec##*@}
		case $version in
		[0-9]*.[0-9]*.[0-9]*) ;;
		*) echo "npm_install_pinned: $spec is not NAME@X.Y.Z (versions are pinned)" >&2; exit 1 ;;
		esac
		have=$(node -p "require(process.argv[1]).version" "$dir/node_modules/$name/package.json" 2>/dev/null || true)
		[ "$have" = "$version" ] || missing+=("$spec")
	done
	[ ${#missing[@]} -gt 0 ] || return 0
	mkdir -p "$dir"
	echo "installing ${missing[*]} from the npm registry into $dir"
	local log="$dir/npm-install.log" rc=0
	# All of them, not only the missing ones: npm removes what it is not asked for from node_modules.
	npm install --prefix "$dir" --no-save --no-package-lock --no-audit --no-fund --legacy-peer-deps --loglevel=warn \
		"$@" >"$log" 2>&1 || rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "--- npm install output (last 40 lines of $log) ---" >&2
		tail -n 40 "$log" >&2
		echo "FAIL: npm install ${missing[*]} failed (exit $rc) with the registry $(npm config get registry 2>/dev/null):" \
			"this test needs those packages; see npm's errors above (no network to the registry, or a version it does not serve)" >&2
		exit 1
	fi
	for spec in "$@"; do
		name=${spec%@*}
		name=${name%%@npm:*}
		have=$(node -p "require(process.argv[1]).version" "$dir/node_modules/$name/package.json" 2>/dev/null || true)
		if [ "$have" != "${spec##*@}" ]; then
			echo "FAIL: after npm install, $dir/node_modules/$name is at '${have:-nothing}', not ${spec##*@}" >&2
			exit 1
		fi
	done
}
