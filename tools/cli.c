/*
 * cli.c — helpers shared by the tools: messages, exit status, where the index
 * lives, colour, strict number parsing, UTF-8 cleaning, and input streams that
 * decompress zstd on the fly.
 *
 * Why it is shaped so: each helper encodes one user-visible rule that both
 * tools must apply identically (see cli.h).  The input stream is a thin layer
 * over read(2) with an optional ZSTD_DStream in between; callers see plain
 * bytes either way, and cli_lines splits those bytes into lines with one
 * growable buffer, so memory use is bounded by the longest line rather than
 * by the file.  Reads are not restarted after SIGINT/SIGTERM, which lets a
 * tool stop promptly and clean up (an unfinished index build is discarded).
 */
#include "cli.h"
#include "ft_common.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

/* ------------------------------------------------------------------ messages */

static const char *prog_name = "ft";
static void (*msg_hook)(void);

void cli_set_prog(const char *name) { prog_name = name; }
const char *cli_prog(void) { return prog_name; }
void cli_set_msg_hook(void (*hook)(void)) { msg_hook = hook; }

void cli_msg(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout); /* keep stdout and stderr in order on a shared terminal */
    flockfile(stderr); /* one whole line even when two threads report */
    if (msg_hook) msg_hook();
    fprintf(stderr, "%s: ", prog_name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    funlockfile(stderr);
}

int cli_usage_error(const char *sub, const char *fmt, ...)
{
    va_list ap;
    if (msg_hook) msg_hook();
    fprintf(stderr, "%s: ", prog_name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '%s%s%s --help' for more information.\n", prog_name, sub ? " " : "",
            sub ? sub : "");
    return CLI_EXIT_USAGE;
}

/* --------------------------------------------------------------- exit status */

int cli_exit_for(int rc)
{
    switch (rc) {
    case FT_OK: return CLI_EXIT_OK;
    case FT_EINVAL: return CLI_EXIT_USAGE;
    case FT_EIO:
    case FT_ENOTFOUND:
    case FT_ENOSPC: return CLI_EXIT_IO;
    case FT_ECORRUPT:
    case FT_EVERSION: return CLI_EXIT_CORRUPT;
    case FT_EBUSY: return CLI_EXIT_LOCKED;
    case FT_ENOMEM:
    default: return CLI_EXIT_OTHER;
    }
}

int cli_exit_for_errno(int errnum)
{
    return cli_exit_for(errnum == ENOMEM ? FT_ENOMEM : FT_EIO);
}

/* ------------------------------------------------------------ index location */

static const char *env_nonempty(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

char *cli_index_for_build(const char *opt)
{
    if (opt) return strdup(opt);
    const char *env = env_nonempty("FT_INDEX");
    return strdup(env ? env : ".ftindex");
}

int cli_index_for_read(const char *opt, char **out)
{
    char *r;
    *out = NULL;
    if (opt || env_nonempty("FT_INDEX")) {
        r = strdup(opt ? opt : env_nonempty("FT_INDEX"));
        if (!r) {
            cli_msg("out of memory");
            return CLI_EXIT_OTHER;
        }
        *out = r;
        return CLI_EXIT_OK;
    }
    /* Like git: try ./.ftindex, then ../.ftindex, ... up to the root. */
    char *dir = getcwd(NULL, 0);
    if (!dir) {
        int e = errno;
        cli_msg("cannot determine the current directory: %s", strerror(e));
        return cli_exit_for_errno(e);
    }
    for (;;) {
        size_t n = strlen(dir);
        r = malloc(n + sizeof "/.ftindex");
        if (!r) {
            free(dir);
            cli_msg("out of memory");
            return CLI_EXIT_OTHER;
        }
        memcpy(r, dir, n);
        strcpy(r + n, n && dir[n - 1] == '/' ? ".ftindex" : "/.ftindex");
        struct stat st;
        if (stat(r, &st) == 0 && S_ISDIR(st.st_mode)) {
            free(dir);
            *out = r;
            return CLI_EXIT_OK;
        }
        free(r);
        char *slash = strrchr(dir, '/');
        if (!slash || (slash == dir && dir[1] == '\0')) break; /* tried "/" */
        if (slash == dir) slash[1] = '\0';                     /* "/usr" -> "/" */
        else *slash = '\0';
    }
    free(dir);
    cli_msg("no index found (looked for .ftindex in the current directory and its parents; "
            "build one with `ftindex build` or set FT_INDEX)");
    return CLI_EXIT_IO;
}

/* -------------------------------------------------------------------- colour */

int cli_parse_color(const char *s, int *mode)
{
    if (!s || !strcmp(s, "always")) *mode = CLI_COLOR_ALWAYS;
    else if (!strcmp(s, "never")) *mode = CLI_COLOR_NEVER;
    else if (!strcmp(s, "auto")) *mode = CLI_COLOR_AUTO;
    else return -1;
    return 0;
}

int cli_use_color(int mode)
{
    if (mode == CLI_COLOR_ALWAYS) return 1;
    if (mode == CLI_COLOR_NEVER) return 0;
    if (!isatty(STDOUT_FILENO)) return 0;
    if (env_nonempty("NO_COLOR")) return 0;
    const char *term = getenv("TERM");
    if (term && !strcmp(term, "dumb")) return 0;
    return 1;
}

/* ------------------------------------------------------------------- numbers */

int cli_parse_ulong(const char *s, unsigned long *out)
{
    char *end;
    if (!s || *s < '0' || *s > '9') return -1; /* no sign, no leading space */
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end) return -1;
    *out = v;
    return 0;
}

int cli_parse_double(const char *s, double *out)
{
    char *end;
    if (!s || !*s || *s == ' ' || *s == '\t') return -1;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

/* ---------------------------------------------------------------------- text */

/* Classify the sequence at s[0..len): returns its length if valid, 0 if the
 * buffer ends inside a sequence that is valid so far, or -k when the first k
 * bytes form an invalid sequence (k >= 1; the maximal invalid subpart). */
static long utf8_seq(const unsigned char *s, size_t len)
{
    unsigned c = s[0];
    size_t need;
    unsigned lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) need = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        if (c == 0xE0) lo = 0xA0;      /* overlong */
        else if (c == 0xED) hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        if (c == 0xF0) lo = 0x90;      /* overlong */
        else if (c == 0xF4) hi = 0x8F; /* beyond U+10FFFF */
    } else return -1;
    for (size_t i = 1; i < need; i++) {
        if (i >= len) return 0;
        unsigned d = s[i];
        if (i == 1 ? (d < lo || d > hi) : (d < 0x80 || d > 0xBF)) return -(long)i;
    }
    return (long)need;
}

size_t cli_utf8_invalid(const unsigned char *s, size_t len)
{
    size_t i = 0, bad = 0;
    while (i < len) {
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        long r = utf8_seq(s + i, len - i);
        if (r == 0) break; /* cut by the end of the buffer */
        if (r < 0) {
            bad++;
            i += (size_t)-r;
        } else i += (size_t)r;
    }
    return bad;
}

char *cli_utf8_clean(const char *s, size_t len, size_t *outlen)
{
    const unsigned char *u = (const unsigned char *)s;
    /* Worst case: every byte becomes the 3-byte U+FFFD. */
    if (len > (SIZE_MAX - 1) / 3) return NULL;
    char *out = malloc(len * 3 + 1);
    if (!out) return NULL;
    size_t i = 0, o = 0;
    while (i < len) {
        long r = u[i] < 0x80 ? 1 : utf8_seq(u + i, len - i);
        if (r > 0) {
            memcpy(out + o, s + i, (size_t)r);
            o += (size_t)r;
            i += (size_t)r;
        } else {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i += r < 0 ? (size_t)-r : len - i;
        }
    }
    out[o] = '\0';
    if (outlen) *outlen = o;
    return out;
}

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* -------------------------------------------------------------- interruption */

volatile sig_atomic_t cli_interrupted;
volatile sig_atomic_t cli_cancel_reads;

static void on_signal(int sig) { cli_interrupted = sig; }
static void on_wakeup(int sig) { (void)sig; }

void cli_catch_interrupts(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: a blocked read returns EINTR */
    static const int sigs[] = {SIGINT, SIGTERM};
    for (int i = 0; i < 2; i++) {
        struct sigaction old;
        /* A signal the parent chose to ignore (nohup, background jobs) stays ignored. */
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN) continue;
        sigaction(sigs[i], &sa, NULL);
    }
    sa.sa_handler = on_wakeup;
    sigaction(CLI_WAKEUP_SIGNAL, &sa, NULL);
}

/* ------------------------------------------------------------------- streams */

#define RAW_CHUNK (128u * 1024)

struct cli_stream {
    int fd;
    int own_fd;
    ZSTD_DStream *zd;    /* NULL: bytes pass through */
    unsigned char *in;   /* raw input; in plain mode only holds the magic peek */
    size_t in_cap;
    ZSTD_inBuffer zin;   /* window of `in` not yet consumed */
    uint64_t in_total;   /* raw bytes read so far */
    size_t zret;         /* last ZSTD_decompressStream result: 0 = frame done */
    int eof;
    char err[256];
};

const char *cli_stream_error(const cli_stream *s) { return s->err; }
int cli_stream_fd(const cli_stream *s) { return s->fd; }

static ssize_t raw_read(cli_stream *s, void *buf, size_t n)
{
    for (;;) {
        ssize_t r = read(s->fd, buf, n);
        if (r >= 0) {
            s->in_total += (uint64_t)r;
            return r;
        }
        if (errno == EINTR && !cli_interrupted && !cli_cancel_reads) continue;
        snprintf(s->err, sizeof s->err, "%s",
                 errno != EINTR ? strerror(errno) : cli_interrupted ? "interrupted" : "cancelled");
        return -1;
    }
}

cli_stream *cli_stream_open(const char *path, int zstd)
{
    cli_stream *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    if (!strcmp(path, "-")) {
        s->fd = STDIN_FILENO;
    } else {
        s->fd = open(path, O_RDONLY | O_CLOEXEC);
        if (s->fd < 0) {
            int e = errno;
            free(s);
            errno = e;
            return NULL;
        }
        s->own_fd = 1;
    }
    s->in_cap = zstd == CLI_ZSTD_NO ? 0 : ZSTD_DStreamInSize();
    if (s->in_cap < RAW_CHUNK && zstd != CLI_ZSTD_NO) s->in_cap = RAW_CHUNK;
    if (s->in_cap && !(s->in = malloc(s->in_cap))) goto nomem;
    s->zin.src = s->in;
    if (zstd == CLI_ZSTD_DETECT) {
        /* Peek at the first four bytes; they stay in `in` for either mode. */
        size_t got = 0;
        while (got < 4) {
            ssize_t r = raw_read(s, s->in + got, 4 - got);
            if (r <= 0) break; /* an error stays in s->err for the first read */
            got += (size_t)r;
        }
        s->zin.size = got;
        static const unsigned char magic[4] = {0x28, 0xB5, 0x2F, 0xFD};
        zstd = got == 4 && !memcmp(s->in, magic, 4) ? CLI_ZSTD_YES : CLI_ZSTD_NO;
    }
    if (zstd == CLI_ZSTD_YES) {
        if (!(s->zd = ZSTD_createDStream())) goto nomem;
        ZSTD_initDStream(s->zd);
    }
    return s;
nomem:
    cli_stream_close(s);
    errno = ENOMEM;
    return NULL;
}

void cli_stream_close(cli_stream *s)
{
    if (!s) return;
    if (s->own_fd) close(s->fd);
    ZSTD_freeDStream(s->zd);
    free(s->in);
    free(s);
}

ssize_t cli_stream_read(cli_stream *s, void *buf, size_t n)
{
    if (s->err[0]) return -1;
    if (n == 0) return 0;
    if (!s->zd) {
        if (s->zin.pos < s->zin.size) { /* bytes left from the magic peek */
            size_t k = s->zin.size - s->zin.pos;
            if (k > n) k = n;
            memcpy(buf, s->in + s->zin.pos, k);
            s->zin.pos += k;
            return (ssize_t)k;
        }
        return raw_read(s, buf, n);
    }
    for (;;) {
        if (s->zin.pos == s->zin.size && !s->eof) {
            ssize_t r = raw_read(s, s->in, s->in_cap);
            if (r < 0) return -1;
            if (r == 0) s->eof = 1;
            s->zin.size = (size_t)r;
            s->zin.pos = 0;
        }
        ZSTD_outBuffer out = {buf, n, 0};
        size_t in_pos = s->zin.pos;
        size_t ret = ZSTD_decompressStream(s->zd, &out, &s->zin);
        if (ZSTD_isError(ret)) {
            snprintf(s->err, sizeof s->err, "corrupt zstd data: %s", ZSTD_getErrorName(ret));
            return -1;
        }
        /* Only a call that made progress says where we are: with no input a
         * decoder between frames asks for a next header, which is fine. */
        if (out.pos || s->zin.pos != in_pos) s->zret = ret;
        if (out.pos) return (ssize_t)out.pos;
        if (s->eof && s->zin.pos == s->zin.size) {
            if (s->zret != 0 && s->in_total > 0) {
                snprintf(s->err, sizeof s->err,
                         "truncated zstd data (the file ends inside a frame)");
                return -1;
            }
            return 0;
        }
    }
}

ssize_t cli_stream_read_full(cli_stream *s, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = cli_stream_read(s, (char *)buf + got, n - got);
        if (r < 0) return -1;
        if (r == 0) break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

/* --------------------------------------------------------------------- lines */

#define LINE_CHUNK (256u * 1024)

struct cli_lines {
    cli_stream *s;
    char *buf;
    size_t cap;
    size_t start; /* first byte of the next line */
    size_t scan;  /* bytes before this hold no '\n' (from start) */
    size_t end;   /* end of the data in buf */
    int eof;
    unsigned long lineno;
    uint64_t base;      /* file offset of buf[0] (long-line mode) */
    size_t long_limit;  /* 0, or: lines this long are returned as long lines */
    uint64_t long_at;   /* file offset of the long line last returned */
};

cli_lines *cli_lines_new(cli_stream *s)
{
    if (!s) return NULL;
    cli_lines *l = calloc(1, sizeof *l);
    if (!l || !(l->buf = malloc(LINE_CHUNK))) {
        free(l);
        cli_stream_close(s);
        return NULL;
    }
    l->cap = LINE_CHUNK;
    l->s = s;
    return l;
}

int cli_lines_set_long(cli_lines *l, size_t limit)
{
    struct stat st;
    if (l->s->zd || l->s->zin.size || !l->s->own_fd || l->lineno || l->end || fstat(l->s->fd, &st) < 0 ||
        !S_ISREG(st.st_mode))
        return 0;
    l->long_limit = limit;
    return 1;
}

uint64_t cli_lines_long_at(const cli_lines *l) { return l->long_at; }
int cli_lines_fd(const cli_lines *l) { return l->s->fd; }

int cli_lines_resume(cli_lines *l, uint64_t next)
{
    if (l->cap > 4 * LINE_CHUNK) { /* the long line's part read: give it back */
        char *nb = malloc(LINE_CHUNK);
        if (nb) {
            free(l->buf);
            l->buf = nb;
            l->cap = LINE_CHUNK;
        }
    }
    l->start = l->scan = l->end = 0;
    l->base = next;
    l->eof = 0;
    if (lseek(l->s->fd, (off_t)next, SEEK_SET) < 0) {
        snprintf(l->s->err, sizeof l->s->err, "%s", strerror(errno));
        return -1;
    }
    return 0;
}

void cli_lines_free(cli_lines *l)
{
    if (!l) return;
    cli_stream_close(l->s);
    free(l->buf);
    free(l);
}

const char *cli_lines_error(const cli_lines *l) { return cli_stream_error(l->s); }
unsigned long cli_lines_count(const cli_lines *l) { return l->lineno; }

char *cli_lines_take(cli_lines *l)
{
    size_t rest = l->end - l->start, cap = LINE_CHUNK;
    while (cap < rest + LINE_CHUNK / 4) cap *= 2; /* cap > end, and room to read */
    char *nb = malloc(cap);
    if (!nb) return NULL;
    memcpy(nb, l->buf + l->start, rest);
    char *old = l->buf;
    l->buf = nb;
    l->cap = cap;
    l->base += l->start;
    l->scan -= l->start;
    l->end = rest;
    l->start = 0;
    return old;
}

int cli_lines_next(cli_lines *l, char **line, size_t *len, unsigned long *lineno)
{
    for (;;) {
        char *nl = memchr(l->buf + l->scan, '\n', l->end - l->scan);
        if (nl) {
            *nl = '\0';
            *line = l->buf + l->start;
            *len = (size_t)(nl - *line);
            l->start = l->scan = (size_t)(nl - l->buf) + 1;
            *lineno = ++l->lineno;
            return 1;
        }
        l->scan = l->end;
        if (l->eof) {
            if (l->start == l->end) return 0;
            l->buf[l->end] = '\0'; /* cap > end always holds */
            *line = l->buf + l->start;
            *len = l->end - l->start;
            l->start = l->scan = l->end;
            *lineno = ++l->lineno;
            return 1;
        }
        if (l->long_limit && l->end - l->start >= l->long_limit) {
            *line = NULL;
            *len = 0;
            l->long_at = l->base + l->start;
            *lineno = ++l->lineno;
            return 2;
        }
        if (l->start > 0) { /* slide the partial line to the front */
            memmove(l->buf, l->buf + l->start, l->end - l->start);
            l->base += l->start;
            l->end -= l->start;
            l->scan -= l->start;
            l->start = 0;
        }
        if (l->cap - l->end < LINE_CHUNK / 4) {
            char *nb = l->cap > SIZE_MAX / 2 ? NULL : realloc(l->buf, l->cap * 2);
            if (!nb) {
                snprintf(l->s->err, sizeof l->s->err, "out of memory (line %lu is too long)",
                         l->lineno + 1);
                return -1;
            }
            l->buf = nb;
            l->cap *= 2;
        }
        ssize_t r = cli_stream_read(l->s, l->buf + l->end, l->cap - l->end - 1);
        if (r < 0) return -1;
        if (r == 0) l->eof = 1;
        l->end += (size_t)r;
    }
}
