/*
 * cli.h — helpers shared by the command-line tools (ftindex, ftsearch, ftbench).
 *
 * The library never prints; the tools do, and they should behave alike:
 * messages look like "ftindex: FILE:LINE: reason" on stderr, the exit status
 * says what kind of failure happened (the table below, listed in each man
 * page), an index is found the same way by every tool, colour follows the
 * same rules, and compressed input is read the same way everywhere.  Those
 * shared rules live here so that the tools cannot drift apart.
 *
 * Input is read through cli_stream, a byte stream that decompresses zstd
 * (streaming, so a multi-gigabyte *.zst file never has to fit in memory), and
 * cli_lines, a line splitter on top of it whose buffer grows to the longest
 * line, so a JSON Lines record of many megabytes is read whole.
 */
#ifndef FT_CLI_H
#define FT_CLI_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- exit status ----
 *
 * Like grep: 0 and 1 both mean the command ran, 1 that it found nothing; a
 * script tells the failures apart by the rest.  The library's ft_status is
 * turned into one of these by cli_exit_for() and nowhere else.
 */
#define CLI_EXIT_OK 0      /* success (ftsearch: at least one hit) */
#define CLI_EXIT_NONE 1    /* ran and found nothing: no hit, no such term */
#define CLI_EXIT_USAGE 2   /* bad option, value or argument; a query that does not parse */
#define CLI_EXIT_IO 3      /* a file or the index cannot be found, read or written; disk full */
#define CLI_EXIT_CORRUPT 4 /* the index is damaged or of another format version */
#define CLI_EXIT_OTHER 5   /* out of memory, nothing to index, interrupted, internal error */
#define CLI_EXIT_LOCKED 6  /* another writer holds the index: try again later */

/* The exit status for a failed library call (rc an ft_status other than FT_OK):
 * FT_EINVAL -> USAGE; FT_EIO, FT_ENOTFOUND, FT_ENOSPC -> IO; FT_ECORRUPT,
 * FT_EVERSION -> CORRUPT; FT_EBUSY -> LOCKED; FT_ENOMEM and anything else ->
 * OTHER. */
int cli_exit_for(int rc);
/* The same for a failed system call: ENOMEM -> OTHER, anything else -> IO. */
int cli_exit_for_errno(int errnum);

/* ---- messages ---- */

/* Program name used as the prefix of every message ("ftindex"). */
void cli_set_prog(const char *name);
const char *cli_prog(void);

/* Print "prog: MESSAGE\nTry 'prog [SUB] --help' for more information." and
 * return CLI_EXIT_USAGE.  sub may be NULL. */
int cli_usage_error(const char *sub, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "prog: message\n" on stderr.  A hook runs first (used to erase a progress
 * line so the message does not get mixed into it). */
void cli_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_set_msg_hook(void (*hook)(void));

/* ---- index location ---- */

/* For building: opt if given, else $FT_INDEX, else "./.ftindex".  Returns a
 * malloc'd path or NULL when out of memory. */
char *cli_index_for_build(const char *opt);

/* For reading: opt if given, else $FT_INDEX, else the first ".ftindex"
 * directory found in the current directory or one of its parents.  Sets *dir
 * to a malloc'd path and returns CLI_EXIT_OK, or prints why no index was
 * found and returns its exit status (CLI_EXIT_IO, or CLI_EXIT_OTHER when out
 * of memory) with *dir NULL. */
int cli_index_for_read(const char *opt, char **dir);

/* ---- colour ---- */

enum { CLI_COLOR_AUTO, CLI_COLOR_ALWAYS, CLI_COLOR_NEVER };

/* Parse "always", "never" or "auto" (NULL, as in a bare --color, means
 * always).  Returns 0, or -1 for anything else. */
int cli_parse_color(const char *s, int *mode);

/* Whether to emit ANSI escapes on stdout: always / never, or for auto when
 * stdout is a terminal, NO_COLOR is unset or empty and TERM is not "dumb". */
int cli_use_color(int mode);

/* ---- numbers ---- */

/* Strict parsers: the whole string must be a number.  Return 0 or -1. */
int cli_parse_ulong(const char *s, unsigned long *out);
int cli_parse_double(const char *s, double *out); /* finite values only */

/* ---- text ---- */

/* Copy s[0..len) to a malloc'd NUL-terminated string in which every invalid
 * UTF-8 sequence is replaced by U+FFFD (jansson only accepts valid UTF-8).
 * *outlen (may be NULL) receives the length; embedded NULs are kept. */
char *cli_utf8_clean(const char *s, size_t len, size_t *outlen);

/* Number of invalid UTF-8 sequences in s[0..len).  A sequence cut short by
 * the end of the buffer is not counted (the buffer may be a prefix). */
size_t cli_utf8_invalid(const unsigned char *s, size_t len);

/* Monotonic clock in seconds. */
double cli_now(void);

/* ---- interruption ---- */

/* Set (to the signal number) by the SIGINT/SIGTERM handler installed with
 * cli_catch_interrupts(); reads then fail with "interrupted" instead of
 * being restarted. */
extern volatile sig_atomic_t cli_interrupted;
void cli_catch_interrupts(void);

/* A thread that wants another to stop reading sets cli_cancel_reads and
 * sends it CLI_WAKEUP_SIGNAL (handled, after cli_catch_interrupts, by doing
 * nothing): its blocked read then fails with "cancelled". */
#define CLI_WAKEUP_SIGNAL SIGUSR1
extern volatile sig_atomic_t cli_cancel_reads;

/* ---- input streams ---- */

enum { CLI_ZSTD_NO, CLI_ZSTD_YES, CLI_ZSTD_DETECT };

typedef struct cli_stream cli_stream;

/* Open path ("-" is stdin).  zstd: CLI_ZSTD_YES decompresses, CLI_ZSTD_NO
 * passes bytes through, CLI_ZSTD_DETECT looks for the zstd magic number.
 * On failure returns NULL with errno set (ENOMEM or open's error). */
cli_stream *cli_stream_open(const char *path, int zstd);
void cli_stream_close(cli_stream *s); /* accepts NULL; closes the fd unless stdin */

/* Read up to n bytes.  Returns the count (0 at end of input) or -1 with the
 * reason in cli_stream_error(). */
ssize_t cli_stream_read(cli_stream *s, void *buf, size_t n);
/* Fill buf as far as possible (up to n bytes or end of input). */
ssize_t cli_stream_read_full(cli_stream *s, void *buf, size_t n);
const char *cli_stream_error(const cli_stream *s);
int cli_stream_fd(const cli_stream *s);

typedef struct cli_lines cli_lines;

/* Split a stream into lines; the cli_lines takes ownership of s. */
cli_lines *cli_lines_new(cli_stream *s);
void cli_lines_free(cli_lines *l); /* accepts NULL; closes the stream */

/* Next line without its '\n' (a trailing '\r' is kept), NUL-terminated, valid
 * until the next call.  Returns 1, 0 at end of input, or -1 on a read error
 * (reason in cli_lines_error()).  *lineno is the 1-based line number. */
int cli_lines_next(cli_lines *l, char **line, size_t *len, unsigned long *lineno);
const char *cli_lines_error(const cli_lines *l);
/* Hand over the buffer holding the line last returned (the caller frees it),
 * so a long line need not be copied; the data after the line moves to a new
 * buffer.  Returns NULL, and changes nothing, when out of memory. */
char *cli_lines_take(cli_lines *l);
/* Lines returned so far. */
unsigned long cli_lines_count(const cli_lines *l);

/* Long-line mode, for a plain (not compressed) regular file only: returns 1
 * when set (before the first line), 0 when the stream does not allow it.
 * Then a line found to be at least limit bytes long is not read whole:
 * cli_lines_next returns 2 (line NULL, its number in *lineno), the line
 * starts at file offset cli_lines_long_at(), and the caller reads it from
 * cli_lines_fd() with pread, then calls cli_lines_resume() with the offset
 * after its '\n' (or the file's size) before the next cli_lines_next. */
int cli_lines_set_long(cli_lines *l, size_t limit);
uint64_t cli_lines_long_at(const cli_lines *l);
int cli_lines_fd(const cli_lines *l);
int cli_lines_resume(cli_lines *l, uint64_t next);

#endif
