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
# deploy/ferretdb/sqlite-pushdown.patch is applied (`patch -p1`; the build fails if it does
# not apply). The build is stamped VERSION-BUILD_ID (deploy/ferretdb/build-id.txt) so that
# provisioning rebuilds a binary without it. Why: as released, the SQLite backend pushes
# only `{_id: x}` down to SQL and filters, sorts and limits every document of a collection
# in Go, so `GET /v1/jobs` took seconds at 100,000 jobs and grew linearly. What it does:
#   1. Indexes: a non-unique index on a top-level field is created on two expressions,
#      the rank of the value's BSON type in MongoDB's cross-type order (from the sjson
#      schema) and its SQL value (`->>`: TEXT in byte order for strings, INTEGER/REAL for
#      numbers, milliseconds for dates, 0/1 for booleans, hex for ObjectIDs), so that SQL
#      compares and sorts scalars as MongoDB does (metadata/expr.go). Unique indexes
#      (`_id_` among them) are as released. At start-up, an index created by an older build
#      is recreated (once; minutes for a million documents): old data need not be deleted.
#   2. Filters (sqlite/pushdown.go): equality, $in and $lt/$lte/$gt/$gte on strings,
#      numbers (integers; doubles with an integral value), booleans, dates, ObjectIDs and
#      null, under implicit AND, $and and $or, become a WHERE on those same expressions;
#      `_id` equality and $in use the unique index. Anything else is left to the handler,
#      which applies the whole filter again (common.FilterIterator), so the WHERE is a
#      superset. Arrays: MongoDB's {f: "x"} also matches {f: ["x"]}, the WHERE would not;
#      so each collection records (in its settings in `_ferretdb_collections`, before a
#      write) the top-level fields that ever held an array, a document or another
#      non-scalar, and conditions and sorts on those are left to the handler (listings'
#      issue_severities). A collection of an older build is scanned once at start-up for
#      them. (Running an older build on the data, then this one again: an array written
#      meanwhile into a field that never held one is not seen; delete the settings'
#      "scalarsChecked" or the data.)
#   3. Sort: find's sort on top-level fields becomes ORDER BY (rank, value) per field, which
#      the compound indexes serve; the handler still sorts what it gets. Two SQLite planner
#      habits are worked around: a rank the WHERE fixes is left out of the ORDER BY (SQLite
#      does not see that it is constant and would sort), and an $or is written `+(a OR b)`
#      when sorting, so SQLite walks the ordered index instead of merging index searches of
#      each branch and sorting all they found (every row before a keyset cursor). The API
#      states the cursor's first bound apart (services/api/pagination.py) to seek to it.
#   4. Limit: the handler offers the find's limit (no skip, not tailable) and the backend
#      applies it only when the WHERE is the whole filter and the ORDER BY the whole sort
#      (backends.QueryParams.ExactLimit).
#   5. The two `_id` patches of earlier builds, folded in: UPDATE/DELETE/lookups by `_id`
#      write the path as the unique index does (`->"_id"`, released `->'$._id'`, which
#      scanned the table), and `_id` equality is pushed down beside other conditions.
# Documents are stored exactly as before.
#
# SQLite: FerretDB 1.24.2 pins modernc.org/sqlite v1.32.0 (SQLite 3.46); the build takes
# the version in deploy/ferretdb/sqlite-version.txt instead (`go get`, which moves its
# modernc.org/libc along). Why: the projector's catch-up is bound by FerretDB's inserts,
# and measured side by side on the same events the newer driver wrote 15% more
# (median 6,050 against 5,268 events/s at 60,000 jobs; docs/design.md §25). The file
# format and the SQL FerretDB writes are unchanged. Its dependencies want Go 1.26 (`go get`
# raises the module's go line to it).
#
# No build tags are needed: the sqlite backend (modernc.org/sqlite, pure Go) and the
# postgresql one are in by default; `ferretdb_debug` is deliberately not set.
# Normally run through `python -m devtools.infra provision`.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
version=${FERRETDB_VERSION:-$(tr -d '[:space:]' <"$here/version.txt")}
build_id=$(tr -d '[:space:]' <"$here/build-id.txt")
sqlite_version=$(tr -d '[:space:]' <"$here/sqlite-version.txt")
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

# The patch (see the top of this file); the build fails if it does not apply.
patch -d "$src" -p1 --batch --forward --quiet <"$here/sqlite-pushdown.patch" ||
    { echo "build.sh: $here/sqlite-pushdown.patch did not apply to $src" >&2; exit 1; }

echo "ferretdb: building $out" >&2
(
    cd "$src"
    # A newer SQLite than FerretDB's go.mod pins (see "SQLite" at the top of this file).
    go get "modernc.org/sqlite@$sqlite_version" 2>&1 | sed 's/^/ferretdb: /' >&2
    CGO_ENABLED=0 go build -trimpath -buildvcs=false -o "$out.tmp" ./cmd/ferretdb
)
mv -f "$out.tmp" "$out"
rm -rf "$src"
rmdir "$(dirname "$src")" 2>/dev/null || true
"$out" --version | sed -n 1p >&2
