#!/bin/sh
# Indexing speed, memory and index size of ft and SQLite FTS5 (contentless) on the
# English scale corpus (English Wikipedia, Debian dictionaries and package texts, BBC,
# Reuters: 428,935 docs, 229 MB).  Prints a markdown table.
#
# usage: bench/index-speed.sh [JSONL]     (default: the English scale corpus, built once)
# env:   FT_SHARED     shared data (default: ../shared beside the repository)
#        FT_BENCH_TMP  scratch directory, also caches english.jsonl (default: /tmp/ft-bench)
#        FT_BIN        where ftindex is (default: build/ in the repository)
#        SKIP_FTS5=1   reuse the FTS5 figures of the previous run (fts5-en.log)
# Without build/ftindex only the FTS5 row is printed.
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
shared=${FT_SHARED:-$repo/../shared}
tmp=${FT_BENCH_TMP:-/tmp/ft-bench}
bin=${FT_BIN:-$repo/build}
py=${PYTHON:-python3}
mkdir -p "$tmp"

input=${1:-$tmp/english.jsonl}
if [ $# -eq 0 ] && [ ! -s "$input" ]; then
  echo "index-speed.sh: building the English scale corpus in $input" >&2
  sh "$shared/corpora/make-scale.sh" "$input.part" english >&2
  mv "$input.part" "$input"
fi

# ---- ft: wall time and peak RSS from the kernel's accounting of the child.
ft_row=""
if [ -x "$bin/ftindex" ]; then
  rm -rf "$tmp/ft-en"
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -v "$bin/ftindex" build --quiet -o "$tmp/ft-en" "$input" \
      2> "$tmp/ft-en.time"
    ft_secs=$(awk -F': ' '/Elapsed \(wall clock\)/ {
        n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' \
        "$tmp/ft-en.time")
    ft_rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$tmp/ft-en.time")
  else
    # no GNU time: wait4() gives the same two figures
    set -- $("$py" -c '
import os, sys, time
t = time.perf_counter()
pid = os.spawnv(os.P_NOWAIT, sys.argv[1], sys.argv[1:])
_, status, ru = os.wait4(pid, 0)
if os.waitstatus_to_exitcode(status) != 0: sys.exit("ftindex failed")
print("%.2f %d" % (time.perf_counter() - t, ru.ru_maxrss))
' "$bin/ftindex" build --quiet -o "$tmp/ft-en" "$input")
    ft_secs=$1; ft_rss=$2
  fi
  ft_total=$(find "$tmp/ft-en" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
  ft_nosto=$(find "$tmp/ft-en" -type f ! -name '*.sto' -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
else
  echo "index-speed.sh: $bin/ftindex missing (run make); FTS5 only" >&2
fi

# ---- FTS5 contentless (index only).
if [ "${SKIP_FTS5:-0}" != 1 ] || [ ! -s "$tmp/fts5-en.log" ]; then
  "$py" "$repo/bench/peers/fts5.py" index "$tmp/fts5-en.db" "$input" > "$tmp/fts5-en.log"
fi
v() { awk -v k="$1" '$1 == k { print $2 }' "$tmp/fts5-en.log"; }
docs=$(v docs); in_bytes=$(v input_bytes)
f_secs=$(v seconds); f_rss=$(v peak_rss_kb); f_idx=$(v index_bytes)

echo "input: $input — $docs docs, $(awk -v b="$in_bytes" 'BEGIN { printf "%.1f", b / 1e6 }') MB of id+title+body text"
echo
echo "| engine | seconds | MB/s | docs/s | peak RSS MB | index bytes | index/input | with stored docs |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
row() { # engine secs rss_kb index_bytes total_bytes
  awk -v e="$1" -v s="$2" -v r="$3" -v ix="$4" -v tot="$5" -v b="$in_bytes" -v d="$docs" 'BEGIN {
    printf "| %s | %.1f | %.1f | %.0f | %.0f | %d | %.3f | %s |\n",
      e, s, b / 1e6 / s, d / s, r / 1024, ix, ix / b, tot }'
}
if [ -n "${ft_secs:-}" ]; then
  row "ft" "$ft_secs" "$ft_rss" "$ft_nosto" "$ft_total"
fi
row "SQLite FTS5 $(v sqlite_version) contentless (porter)" "$f_secs" "$f_rss" "$f_idx" "–"
if [ -n "${ft_secs:-}" ]; then
  awk -v fs="$ft_secs" -v ss="$f_secs" -v fi="$ft_nosto" -v si="$f_idx" 'BEGIN {
    printf "| ratio ft/FTS5 | | %.2f× | | | %.2f× | | |\n", ss / fs, fi / si }'
fi
echo
echo "ft: wall time and peak RSS of the ftindex process; index bytes exclude the document"
echo "store (*.sto), which the last column includes. FTS5: Python driver, one transaction,"
echo "insert + commit + 'optimize' merge, index bytes from dbstat (no stored text; the"
echo "rowid-to-id table is not counted); RSS includes the Python interpreter."
