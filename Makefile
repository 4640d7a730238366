# ft — build, test, demo.   `make demo` and `make check` are the two entry points.
#
# Everything is built out of tree under build/ (normal, -O2) and build/asan/
# (AddressSanitizer + UndefinedBehaviorSanitizer).  The library code of
# common/, tokenize/, index/ and search/ becomes build/libft.a, which the tools
# and the test suite link.

CC       ?= cc
OPT      ?= -O2
CFLAGS   ?= $(OPT) -g
WARN      = -std=c11 -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter
DEFS      = -D_GNU_SOURCE
INCS      = -Icommon -Itokenize -Iindex -Isearch
LIBS      = -lstemmer -lzstd -lutf8proc -ljansson -lxxhash -lm -lpthread
SANITIZE  = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

DEB_PKGS  = build-essential pkg-config libstemmer-dev libzstd-dev libcriterion-dev \
            libutf8proc-dev libjansson-dev libxxhash-dev zstd sqlite3 python3

LIB_SRCS  = $(wildcard common/*.c tokenize/*.c index/*.c search/*.c)
TOOL_SRCS = $(wildcard tools/*.c)
TOOLS     = ftindex ftsearch ftbench
TEST_SRCS = $(wildcard tests/*.c)
HDRS      = $(wildcard common/*.h tokenize/*.h index/*.h search/*.h tools/*.h tests/*.h)

B  = build
BA = build/asan

LIB_OBJS   = $(LIB_SRCS:%.c=$(B)/%.o)
LIB_OBJS_A = $(LIB_SRCS:%.c=$(BA)/%.o)

.PHONY: all tools deps demo check check-plain check-asan test clean bench-quality bench-index \
        deps-bench bench bench-smoke
.DEFAULT_GOAL := all

all: $(addprefix $(B)/,$(TOOLS))

# ---------------------------------------------------------------- deps
deps:
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then echo "deps: all Debian packages present"; exit 0; fi; \
	echo "deps: missing packages:$$missing"; \
	if [ "$$(id -u)" = 0 ]; then SUDO=""; \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo"; \
	else echo "deps: not root and no password-less sudo; run:"; \
	     echo "  sudo apt-get update && sudo apt-get install -y$$missing"; exit 1; fi; \
	$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq$$missing \
	  || { echo "deps: apt-get failed; install by hand:$$missing"; exit 1; }

# ---------------------------------------------------------------- library
$(B)/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) $(DEFS) $(INCS) -c $< -o $@

$(BA)/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) -O1 -g $(SANITIZE) $(WARN) $(DEFS) $(INCS) -c $< -o $@

$(B)/libft.a: $(LIB_OBJS)
	@rm -f $@; ar rcs $@ $^

$(BA)/libft.a: $(LIB_OBJS_A)
	@rm -f $@; ar rcs $@ $^

# ---------------------------------------------------------------- tools
$(B)/ft%: $(B)/tools/ft%.o $(B)/tools/cli.o $(B)/libft.a
	$(CC) $(CFLAGS) $^ -o $@ $(LIBS)

$(BA)/ft%: $(BA)/tools/ft%.o $(BA)/tools/cli.o $(BA)/libft.a
	$(CC) -g $(SANITIZE) $^ -o $@ $(LIBS)

# ftbench also links the ranking-quality measures (tools/eval.c).
$(B)/ftbench: $(B)/tools/eval.o
$(BA)/ftbench: $(BA)/tools/eval.o

tools: all

# ---------------------------------------------------------------- tests
# tests/test_faults.c makes the N-th allocation or system call of the library
# fail through these wrappers (only calls from statically linked code).
FAULT_WRAP = -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free,--wrap=strdup,--wrap=asprintf \
             -Wl,--wrap=ZSTD_createCCtx,--wrap=ZSTD_createDCtx,--wrap=sb_stemmer_new \
             -Wl,--wrap=ZSTD_freeCCtx,--wrap=ZSTD_freeDCtx,--wrap=sb_stemmer_delete \
             -Wl,--wrap=open,--wrap=write,--wrap=fsync,--wrap=rename
TEST_OBJS   = $(TEST_SRCS:%.c=$(B)/%.o)
TEST_OBJS_A = $(TEST_SRCS:%.c=$(BA)/%.o)

# The suite links tools/eval.o too: tests/test_eval.c checks the measures.
$(B)/ft_tests: $(TEST_OBJS) $(B)/tools/eval.o $(B)/libft.a
	$(CC) $(CFLAGS) $^ -o $@ $(FAULT_WRAP) -lcriterion $(LIBS)

$(BA)/ft_tests: $(TEST_OBJS_A) $(BA)/tools/eval.o $(BA)/libft.a
	$(CC) -g $(SANITIZE) $^ -o $@ $(FAULT_WRAP) -lcriterion $(LIBS)

# Tests find the tools and data through the environment.
check-plain: deps all $(B)/ft_tests replay-plain
	FT_BIN=$(CURDIR)/$(B) FT_SRC=$(CURDIR) ./$(B)/ft_tests --jobs 2

check-asan: deps $(addprefix $(BA)/,$(TOOLS)) $(BA)/ft_tests replay-asan
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	FT_BIN=$(CURDIR)/$(BA) FT_SRC=$(CURDIR) ./$(BA)/ft_tests --jobs 2

# The whole suite, plain build first, then under ASan+UBSan.
check: check-plain check-asan

test: check

# ---------------------------------------------------------------- fuzzing
# Fuzz targets live in tests/fuzz/ (one file each, see tests/fuzz/README.md).
# `make fuzz FUZZ_SECONDS=N` runs each target for N seconds with libFuzzer
# (clang-14; `make deps-fuzz` installs the runtime), growing a working corpus
# under build/fuzz/work/ seeded from tests/fuzz/corpus/; `make fuzz-save` merges
# the inputs that add coverage back into tests/fuzz/corpus/.  The replay driver
# runs every saved input through the same targets without libFuzzer; `make
# check` does so in the plain and the ASan build (replay-plain, replay-asan).
FUZZ_TARGETS = query tokenize jsonl reader roundtrip
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang-14
FUZZ_SAN      = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FZ = build/fuzz
FUZZ_SUPPORT = tests/fuzz/fuzz_util.c
FUZZ_HDRS    = tests/fuzz/fuzz_util.h $(HDRS)
LIB_OBJS_F   = $(LIB_SRCS:%.c=$(FZ)/%.o)

.PHONY: deps-fuzz fuzz fuzz-save replay-plain replay-asan check-long check-valgrind

deps-fuzz:
	@missing=""; for p in clang-14 libclang-rt-14-dev; do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then echo "deps-fuzz: clang-14 and its libFuzzer runtime present"; exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq$$missing

$(FZ)/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -O1 -g -fsanitize=fuzzer-no-link $(FUZZ_SAN) $(WARN) $(DEFS) $(INCS) -c $< -o $@

$(FZ)/libft.a: $(LIB_OBJS_F)
	@rm -f $@; ar rcs $@ $^

$(FZ)/fuzz-%: tests/fuzz/fuzz_%.c $(FUZZ_SUPPORT) $(FUZZ_HDRS) $(FZ)/libft.a
	$(FUZZ_CC) -O1 -g -fsanitize=fuzzer $(FUZZ_SAN) $(WARN) $(DEFS) $(INCS) -Itests/fuzz \
	  $< $(FUZZ_SUPPORT) $(FZ)/libft.a -o $@ $(LIBS)

fuzz: deps deps-fuzz $(addprefix $(FZ)/fuzz-,$(FUZZ_TARGETS))
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FZ)/work/$$t $(FZ)/crashes; \
	  echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 ./$(FZ)/fuzz-$$t -max_total_time=$(FUZZ_SECONDS) \
	    -timeout=20 -rss_limit_mb=4096 -max_len=4096 -print_final_stats=1 \
	    -artifact_prefix=$(FZ)/crashes/$$t- $(FZ)/work/$$t tests/fuzz/corpus/$$t || exit 1; \
	done

fuzz-save: $(addprefix $(FZ)/fuzz-,$(FUZZ_TARGETS))
	@for t in $(FUZZ_TARGETS); do \
	  ./$(FZ)/fuzz-$$t -merge=1 tests/fuzz/corpus/$$t $(FZ)/work/$$t || exit 1; \
	done

$(B)/fuzz/replay-%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(FUZZ_SUPPORT) $(FUZZ_HDRS) $(B)/libft.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) $(DEFS) $(INCS) -Itests/fuzz $< tests/fuzz/replay.c $(FUZZ_SUPPORT) \
	  $(B)/libft.a -o $@ $(LIBS)

$(BA)/fuzz/replay-%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(FUZZ_SUPPORT) $(FUZZ_HDRS) $(BA)/libft.a
	@mkdir -p $(dir $@)
	$(CC) -O1 -g $(SANITIZE) $(WARN) $(DEFS) $(INCS) -Itests/fuzz $< tests/fuzz/replay.c \
	  $(FUZZ_SUPPORT) $(BA)/libft.a -o $@ $(LIBS)

replay-plain: $(addprefix $(B)/fuzz/replay-,$(FUZZ_TARGETS))
	@for t in $(FUZZ_TARGETS); do ./$(B)/fuzz/replay-$$t tests/fuzz/corpus/$$t || exit 1; done

replay-asan: $(addprefix $(BA)/fuzz/replay-,$(FUZZ_TARGETS))
	@for t in $(FUZZ_TARGETS); do \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	    ./$(BA)/fuzz/replay-$$t tests/fuzz/corpus/$$t || exit 1; done

# ---------------------------------------------------------------- hardening
# check-long: the bad-input tests too large for every run (a 200 MB document,
# a million documents; see tests/badinput/README.md), plain build only.
# check-valgrind: the CLI smoke test (build the sample, a query, --json,
# batch mode, check) under valgrind: any error or definite leak fails it.
VALGRIND = valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite

check-long: deps all $(B)/ft_tests
	FT_LONG=1 FT_BIN=$(CURDIR)/$(B) FT_SRC=$(CURDIR) ./$(B)/ft_tests --filter 'badinput_long/*'

check-valgrind: deps all
	@$(MAKE) --no-print-directory deps DEB_PKGS=valgrind
	rm -rf $(B)/vg-index
	$(VALGRIND) ./$(B)/ftindex build --quiet -o $(B)/vg-index sample
	$(VALGRIND) ./$(B)/ftsearch -i $(B)/vg-index "Russia soybeans" > /dev/null
	$(VALGRIND) ./$(B)/ftsearch -i $(B)/vg-index --json -k 5 --all boundary layer > /dev/null
	printf 'q1\tRussia soybeans\nq2\tbasketball player\nq3\t"Harrow School" Shanghai\n' > $(B)/vg-queries.tsv
	$(VALGRIND) ./$(B)/ftsearch -i $(B)/vg-index --queries $(B)/vg-queries.tsv --format trec -k 100 > /dev/null
	$(VALGRIND) ./$(B)/ftindex check -i $(B)/vg-index > /dev/null
	@echo "check-valgrind: 5 runs under valgrind, no errors, no definite leaks"

# ---------------------------------------------------------------- benchmarks
# The peers of bench/peers/ come from Debian packages too.  `make bench` runs ft,
# SQLite FTS5 and Xapian on the same data and writes bench/RESULTS-auto.md (about
# 15 minutes with ../shared/corpora); `make bench-smoke` runs every ftbench
# subcommand and peer script on the bundled sample in well under a minute.
BENCH_PKGS = python3 python3-xapian sqlite3 zstd
PYTHON    ?= python3

deps-bench:
	@$(MAKE) --no-print-directory deps DEB_PKGS="$(DEB_PKGS) $(BENCH_PKGS)"

bench: deps-bench all
	$(PYTHON) bench/run.py

bench-smoke: deps-bench all
	FT_BENCH_TMP=$${FT_BENCH_TMP:-/tmp/ft-bench-smoke} $(PYTHON) bench/run.py --smoke

bench-quality: all
	sh bench/quality.sh

bench-index: all
	sh bench/index-speed.sh

# ---------------------------------------------------------------- demo
DEMO_INDEX = $(B)/demo-index
demo: deps all
	./$(B)/ftindex build -o $(DEMO_INDEX) sample/2019-06-05-china-russia-ties.txt sample/enwiki-sample.jsonl
	./$(B)/ftsearch -i $(DEMO_INDEX) "Russia soybeans"

clean:
	rm -rf $(B)
.SECONDARY:
