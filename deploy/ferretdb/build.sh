#!/usr/bin/env bash
# Builds FerretDB (sqlite handler included) from the Go module proxy.
#
#   deploy/ferretdb/build.sh [OUTPUT]     default OUTPUT: <repo>/.local/bin/ferretdb
#
# The version comes from deploy/ferretdb/version.txt (override: FERRETDB_VERSION).
#
# Why not `go install github.com/FerretDB/FerretDB/cmd/ferretdb@VERSION`?  It builds,
# but FerretDB embeds its own version from build/version/version.txt, a file that is
# generated in its release pipeline and absent from the module zip; a binary built
# with FerretDB as the main module panics at start-up without it (and -overlay may
# not touch GOMODCACHE).  So the pristine module is downloaded (checksum-verified by
# the go command), copied to .local/src/, stamped with version.txt and built there,
# with FerretDB's own go.mod/go.sum pinning every dependency.
#
# Two patches are applied (the build is stamped VERSION-BUILD_ID, deploy/ferretdb/build-id.txt,
# so that provisioning rebuilds a binary without them), both about finding a document by
# `_id` through its unique index instead of scanning the table:
#   1. the SQLite backend's path to `_id` in UPDATE, DELETE and `_id` lookups is written as
#      the index is. As released the two expressions differ (`->'$._id'` against `->"_id"`)
#      and every update or delete by `_id` scans the whole table: replacing 25,000 listings
#      in a 25,000-row collection took half an hour; with the patch, seconds.
#   2. a filter with `_id` equality and other conditions (`{_id: x, seq: {$lte: n}}`, the
#      projector's guarded replace) is narrowed by `_id` too; as released only a filter of
#      `_id` alone is. Safe because every handler applies the whole filter again to what
#      the backend returns (common.FilterDocument / FilterIterator).
# Inserts already probe the index, and documents are stored exactly as before.
#
# No build tags are needed: the sqlite backend (modernc.org/sqlite, pure Go) and the
# postgresql one are in by default; `ferretdb_debug` is deliberately not set.
# Normally run through `python -m devtools.infra provision`.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
version=${FERRETDB_VERSION:-$(tr -d '[:space:]' <"$here/version.txt")}
build_id=$(tr -d '[:space:]' <"$here/build-id.txt")
out=${1:-$root/.local/bin/ferretdb}
module=github.com/FerretDB/FerretDB

command -v go >/dev/null || { echo "build.sh: 'go' not found on PATH" >&2; exit 1; }

echo "ferretdb: downloading $module@$version" >&2
# -json prints {"Dir": "..."}; run outside any module so no go.mod gets involved.
dir=$(cd / && go mod download -json "$module@$version" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
[[ -n "$dir" && -d "$dir" ]] || { echo "build.sh: go mod download gave no Dir" >&2; exit 1; }

src=$root/.local/src/ferretdb-$version
rm -rf "$src"
mkdir -p "$(dirname "$src")" "$(dirname "$out")"
cp -R "$dir" "$src"
chmod -R u+w "$src"
printf '%s\n' "$version-$build_id" >"$src/build/version/version.txt"

# The `_id` index patch (see the top of this file); the build fails if it no longer applies.
meta=$src/internal/backends/sqlite/metadata/metadata.go
sed -i "s|IDColumn = DefaultColumn + \"->'\\\$._id'\"|IDColumn = DefaultColumn + \`->\"_id\"\`|" "$meta"
grep -q 'IDColumn = DefaultColumn + `->"_id"`' "$meta" ||
    { echo "build.sh: the _id index patch did not apply to $meta" >&2; exit 1; }
coll=$src/internal/backends/sqlite/collection.go
[[ $(grep -c 'if params.Filter.Len() == 1 {' "$coll") == 2 ]] ||
    { echo "build.sh: the _id pushdown patch does not apply to $coll" >&2; exit 1; }
sed -i 's/if params.Filter.Len() == 1 {/if params.Filter.Len() >= 1 {/' "$coll"

echo "ferretdb: building $out" >&2
(
    cd "$src"
    CGO_ENABLED=0 go build -trimpath -buildvcs=false -o "$out.tmp" ./cmd/ferretdb
)
mv -f "$out.tmp" "$out"
rm -rf "$src"
rmdir "$(dirname "$src")" 2>/dev/null || true
"$out" --version | sed -n 1p >&2
