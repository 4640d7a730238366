#!/bin/sh
# Indexing speed, memory and index size of ft and SQLite FTS5 (contentless) on the
# English scale corpus (English Wikipedia, Debian dictionaries and package texts, BBC,
# Reuters: 428,935 docs, 229 MB).  Prints a markdown table.
#
# usage: bench/index-speed.sh [JSONL]     (default: the English scale corpus, built once)
# env:   FT_SHARED     shared data (default: ../shared beside the repository)
#        FT_BENCH_TMP  scratch directory, also caches english.jsonl (default: /tmp/ft-bench)
#        FT_BIN        where ftindex is (default: build/ in the repository)
#        RUNS=N        run each engine N times, alternating, and report the median time
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

runs=${RUNS:-1}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# ---- ft: wall time and peak RSS from the kernel's accounting of the child.
run_ft() {
  rm -rf "$tmp/ft-en"
  sync   # so that earlier writes (the corpus, a previous run) do not land in this timing
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -v "$bin/ftindex" build --quiet -o "$tmp/ft-en" "$input" \
      2> "$tmp/ft-en.time"
    awk -F': ' '/Elapsed \(wall clock\)/ {
        n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; e = s }
      /Maximum resident set size/ { r = $2 } END { print e, r }' "$tmp/ft-en.time"
  else
    # no GNU time: wait4() gives the same two figures
    "$py" -c '
import os, sys, time
t = time.perf_counter()
pid = os.spawnv(os.P_NOWAIT, sys.argv[1], sys.argv[1:])
_, status, ru = os.wait4(pid, 0)
if os.waitstatus_to_exitcode(status) != 0: sys.exit("ftindex failed")
print("%.2f %d" % (time.perf_counter() - t, ru.ru_maxrss))
' "$bin/ftindex" build --quiet -o "$tmp/ft-en" "$input"
  fi
}

# ---- FTS5 contentless (index only).
run_fts5() {
  rm -f "$tmp/fts5-en.db"
  sync
  "$py" "$repo/bench/peers/fts5.py" index "$tmp/fts5-en.db" "$input" > "$tmp/fts5-en.log"
  awk '$1 == "seconds" { print $2 }' "$tmp/fts5-en.log"
}

have_ft=0
if [ -x "$bin/ftindex" ]; then have_ft=1
else echo "index-speed.sh: $bin/ftindex missing (run make); FTS5 only" >&2; fi
fresh_fts5=1
if [ "${SKIP_FTS5:-0}" = 1 ] && [ -s "$tmp/fts5-en.log" ]; then fresh_fts5=0; fi

: > "$tmp/ft-en.runs"; : > "$tmp/fts5-en.runs"
i=0
while [ "$i" -lt "$runs" ]; do   # alternate the engines so that load drifts hit both
  [ "$have_ft" = 1 ] && run_ft >> "$tmp/ft-en.runs"
  [ "$fresh_fts5" = 1 ] && run_fts5 >> "$tmp/fts5-en.runs"
  i=$((i + 1))
done
if [ "$have_ft" = 1 ]; then
  ft_secs=$(awk '{ print $1 }' "$tmp/ft-en.runs" | median)
  ft_rss=$(awk '{ print $2 }' "$tmp/ft-en.runs" | sort -n | tail -1)
  ft_total=$(find "$tmp/ft-en" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
  ft_nosto=$(find "$tmp/ft-en" -type f ! -name '*.sto' -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
fi
v() { awk -v k="$1" '$1 == k { print $2 }' "$tmp/fts5-en.log"; }
docs=$(v docs); in_bytes=$(v input_bytes)
f_rss=$(v peak_rss_kb); f_idx=$(v index_bytes)
if [ "$fresh_fts5" = 1 ]; then f_secs=$(median < "$tmp/fts5-en.runs"); else f_secs=$(v seconds); fi

echo "input: $input — $docs docs, $(awk -v b="$in_bytes" 'BEGIN { printf "%.1f", b / 1e6 }') MB of id+title+body text; median of $runs run(s)"
[ "$have_ft" = 1 ] && echo "ft seconds per run: $(awk '{ printf "%s ", $1 }' "$tmp/ft-en.runs")"
[ "$fresh_fts5" = 1 ] && echo "FTS5 seconds per run: $(tr '\n' ' ' < "$tmp/fts5-en.runs")"
echo
echo "| engine | seconds | MB/s | docs/s | peak RSS MB | index bytes | index/input | with stored docs |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
row() { # engine secs rss_kb index_bytes total_bytes
  awk -v e="$1" -v s="$2" -v r="$3" -v ix="$4" -v tot="$5" -v b="$in_bytes" -v d="$docs" 'BEGIN {
    printf "| %s | %.2f | %.1f | %.0f | %.0f | %d | %.3f | %s |\n",
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
