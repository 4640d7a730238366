#!/bin/sh
# check-install.sh — `make install` and `make uninstall` into a scratch
# DESTDIR, and the quickstart example built against the installed library the
# way a user builds it: through pkg-config, with nothing from the source tree.
#
# Run by `make check-install` (part of `make check`) from the top of the
# source tree with MAKE and VERSION in the environment.  Checks, in order:
#   1. exactly the expected files are installed under DESTDIR/PREFIX;
#   2. libft.so exports only ft_ functions, has soname libft.so.MAJOR, and the
#      installed tools run;
#   3. the example compiles with `pkg-config --cflags --libs ft` (sysroot set
#      to DESTDIR), runs against the installed libft.so and prints
#      examples/quickstart.expected; again linked statically with
#      `pkg-config --static`; again with a real PREFIX and no DESTDIR;
#   4. the man pages format without groff warnings;
#   5. the bash completion offers subcommands and options;
#   6. `make uninstall` leaves no file or link behind.
# Prints one line on success; on failure, what went wrong, and exits 1.
set -eu

MAKE=${MAKE:-make}
CC=${CC:-cc}
: "${VERSION:?VERSION not set}"
SRC=$(pwd)
PREFIX=/usr/local
TMP=$(mktemp -d /tmp/ft-install-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
STAGE=$TMP/stage
LOG=$TMP/make.log

fail() {
    echo "check-install: $*" >&2
    exit 1
}

$MAKE --no-print-directory install PREFIX=$PREFIX DESTDIR="$STAGE" >"$LOG" 2>&1 ||
    { cat "$LOG" >&2; fail "make install DESTDIR=$STAGE failed"; }

# 1. the file list
MAJOR=${VERSION%%.*}
cat >"$TMP/want" <<EOF
$PREFIX/bin/ftbench
$PREFIX/bin/ftindex
$PREFIX/bin/ftsearch
$PREFIX/include/ft/ft.h
$PREFIX/include/ft/ft_common.h
$PREFIX/include/ft/ft_index.h
$PREFIX/include/ft/ft_search.h
$PREFIX/include/ft/ft_tokenize.h
$PREFIX/lib/libft.a
$PREFIX/lib/libft.so
$PREFIX/lib/libft.so.$MAJOR
$PREFIX/lib/libft.so.$VERSION
$PREFIX/lib/pkgconfig/ft.pc
$PREFIX/share/bash-completion/completions/ftbench
$PREFIX/share/bash-completion/completions/ftindex
$PREFIX/share/bash-completion/completions/ftsearch
$PREFIX/share/man/man1/ftbench.1
$PREFIX/share/man/man1/ftindex.1
$PREFIX/share/man/man1/ftsearch.1
$PREFIX/share/man/man3/ft.3
EOF
(cd "$STAGE" && find . -type f -o -type l) | sed 's|^\.||' | LC_ALL=C sort >"$TMP/got"
diff -u "$TMP/want" "$TMP/got" >&2 || fail "installed files differ from the expected list (above)"

# 2. the shared library and the tools
LIB=$STAGE$PREFIX/lib
SO=$LIB/libft.so.$VERSION
soname=$(readelf -d "$SO" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "libft.so.$MAJOR" ] || fail "soname is '$soname', expected libft.so.$MAJOR"
leaked=$(nm -D --defined-only "$SO" | awk '$3 !~ /^ft_/ { print $3 }')
[ -z "$leaked" ] || fail "libft.so exports symbols outside the ft_ namespace: $leaked"
for f in ft_index_open ft_writer_open ft_query_parse ft_search ft_snippet ft_strerror; do
    nm -D --defined-only "$SO" | grep -q " $f\$" || fail "libft.so does not export $f"
done
for f in ft_lock_acquire ft_read_file ft_write_all ft_jsonl_extract; do
    ! nm -D --defined-only "$SO" | grep -q " $f\$" || fail "libft.so exports internal $f"
done
for t in ftindex ftsearch ftbench; do
    "$STAGE$PREFIX/bin/$t" --version | grep -qx "$t $VERSION" || fail "installed $t --version"
done

# 3. the example against the installed library
run_example() { # $1: program, $2: what
    out=$(LD_LIBRARY_PATH=$LIB "$1" "$TMP/idx") || fail "$2: the example failed"
    [ "$out" = "$(cat "$SRC/examples/quickstart.expected")" ] ||
        fail "$2: output differs from examples/quickstart.expected: $out"
}
export PKG_CONFIG_PATH="$LIB/pkgconfig" PKG_CONFIG_LIBDIR="$LIB/pkgconfig"
export PKG_CONFIG_SYSROOT_DIR="$STAGE"
cd "$TMP"
cp "$SRC/examples/quickstart.c" .
flags=$(pkg-config --cflags --libs ft) || fail "pkg-config --cflags --libs ft failed"
# shellcheck disable=SC2086
$CC -std=c11 -Wall -Wextra -Werror -Wshadow quickstart.c $flags -o quickstart-shared ||
    fail "the example does not build with: $flags"
LD_LIBRARY_PATH=$LIB ldd ./quickstart-shared | grep -q "libft.so.$MAJOR => $LIB/" ||
    fail "the example does not load the installed libft.so"
run_example ./quickstart-shared "shared"
static_flags=$(pkg-config --cflags --static --libs ft | sed 's/-lft\b/-l:libft.a/')
# shellcheck disable=SC2086
$CC -std=c11 -Wall -Wextra -Werror quickstart.c $static_flags -o quickstart-static ||
    fail "the example does not link statically with: $static_flags"
ldd ./quickstart-static | grep -q libft && fail "the static example still needs libft.so"
run_example ./quickstart-static "static"
unset PKG_CONFIG_SYSROOT_DIR
cd "$SRC"
$MAKE --no-print-directory install PREFIX="$TMP/prefix" >"$LOG" 2>&1 ||
    { cat "$LOG" >&2; fail "make install PREFIX=$TMP/prefix failed"; }
export PKG_CONFIG_PATH="$TMP/prefix/lib/pkgconfig" PKG_CONFIG_LIBDIR="$TMP/prefix/lib/pkgconfig"
# shellcheck disable=SC2046
$CC -std=c11 "$TMP/quickstart.c" $(pkg-config --cflags --libs ft) -Wl,-rpath,"$TMP/prefix/lib" \
    -o "$TMP/quickstart-prefix" || fail "the example does not build against PREFIX=$TMP/prefix"
LIB=$TMP/prefix/lib
run_example "$TMP/quickstart-prefix" "PREFIX"

# 4. man pages
if command -v groff >/dev/null 2>&1; then
    for m in "$STAGE$PREFIX"/share/man/man*/*; do
        w=$(groff -t -man -Tutf8 -ww -z "$m" 2>&1) || fail "groff fails on $m: $w"
        [ -z "$w" ] || fail "groff warns about $m: $w"
    done
fi

# 5. bash completion
if command -v bash >/dev/null 2>&1; then
    comp=$STAGE$PREFIX/share/bash-completion/completions
    got=$(bash -c '. "$1"; COMP_WORDS=(ftindex b); COMP_CWORD=1; _ft_complete ftindex; echo "${COMPREPLY[*]}"' \
        sh "$comp/ftindex")
    [ "$got" = "build" ] || fail "completion of 'ftindex b' gave '$got'"
    got=$(bash -c '. "$1"; COMP_WORDS=(ftsearch --ex); COMP_CWORD=1; _ft_complete ftsearch; echo "${COMPREPLY[*]}"' \
        sh "$comp/ftsearch")
    case "$got" in *--explain*--exhaustive* | *--exhaustive*--explain*) ;;
    *) fail "completion of 'ftsearch --ex' gave '$got'" ;; esac
fi

# 6. uninstall
for dest in "DESTDIR=$STAGE PREFIX=$PREFIX" "PREFIX=$TMP/prefix"; do
    # shellcheck disable=SC2086
    $MAKE --no-print-directory uninstall $dest >"$LOG" 2>&1 ||
        { cat "$LOG" >&2; fail "make uninstall $dest failed"; }
done
left=$(find "$STAGE" "$TMP/prefix" -type f -o -type l)
[ -z "$left" ] || fail "make uninstall left: $left"

echo "check-install: install, pkg-config build (shared, static), man pages, completion, uninstall: ok"
