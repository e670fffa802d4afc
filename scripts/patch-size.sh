#!/usr/bin/env bash
# patch-size.sh [--limit N] DIR...: the size of each guest patch series,
# as the design card counts it: lines added plus lines removed, inside the
# diffs' hunks only (commit messages, diffstats and file headers do not
# count). Prints one line per patch and a total per series; exits 1 if a
# series' total is N or more (default 200: "under 200 lines").
#
#   scripts/patch-size.sh guests-patches/linux-6.1/paravirt
#
# The series' order is DIR/series if there is one, else the patches' names.
set -euo pipefail
limit=200
if [ "${1:-}" = --limit ]; then limit=$2; shift 2; fi
[ $# -ge 1 ] || { echo "usage: $0 [--limit N] DIR..." >&2; exit 2; }
status=0
for dir in "$@"; do
    if [ -f "$dir/series" ]; then
        mapfile -t patches < <(grep -v '^\s*\(#\|$\)' "$dir/series")
    else
        mapfile -t patches < <(cd "$dir" && ls -- *.patch)
    fi
    [ ${#patches[@]} -gt 0 ] || { echo "$dir: no patches" >&2; exit 2; }
    total_add=0 total_del=0
    for p in "${patches[@]}"; do
        [ -f "$dir/$p" ] || { echo "$dir/series names $p, which is not there" >&2; exit 2; }
        # In a hunk: from "@@" until the next "diff " (or a mail signature
        # "-- "). Context lines start with a space, so only +/- count.
        read -r add del < <(awk '
            /^diff / { inhunk = 0; next }
            /^@@ / { inhunk = 1; next }
            /^-- $/ { inhunk = 0; next }
            inhunk && /^\+/ { a++ }
            inhunk && /^-/ { d++ }
            END { print a + 0, d + 0 }' "$dir/$p")
        printf '%5d added %4d removed  %s\n' "$add" "$del" "$p"
        total_add=$((total_add + add)) total_del=$((total_del + del))
    done
    total=$((total_add + total_del))
    printf '%5d added %4d removed  = %d changed lines in %s (limit: under %d)\n' \
        "$total_add" "$total_del" "$total" "$dir" "$limit"
    if [ "$total" -ge "$limit" ]; then
        echo "$dir: $total changed lines, not under $limit" >&2
        status=1
    fi
done
exit $status
