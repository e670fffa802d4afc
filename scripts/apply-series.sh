#!/usr/bin/env bash
# apply-series.sh DIR TREE: apply the patch series in DIR (in the order of
# DIR/series if there is one, else by name) to the source tree TREE.
# Each patch is tried first (patch --dry-run): one that no longer applies
# stops here, naming the patch, the file and the hunk that failed, before
# it changes anything. Used by build-linux.sh (and, later, the TOPPERS/JSP
# build); tests/linux_guest.rs checks the message.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 PATCHDIR TREE" >&2; exit 2; }
dir=$1 tree=$2
if [ -f "$dir/series" ]; then
    mapfile -t list < <(grep -v '^\s*\(#\|$\)' "$dir/series")
else
    mapfile -t list < <(cd "$dir" && ls -- *.patch)
fi
for p in "${list[@]}"; do
    [ -f "$dir/$p" ] || { echo "apply-series: $dir/series names $p, which is not there" >&2; exit 1; }
    if ! log=$(patch -d "$tree" -p1 -N --dry-run < "$dir/$p" 2>&1); then
        echo "apply-series: $dir/$p no longer applies to $tree:" >&2
        echo "$log" | grep -E 'patching file|checking file|FAILED|malformed|can.t find|Reversed|garbage|No file' | sed 's/^/  /' >&2
        exit 1
    fi
    patch -d "$tree" -p1 -s -N < "$dir/$p"
done
