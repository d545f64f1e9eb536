# Aya build: one Makefile, one module.mk per module (model: Knot src/Makefile.am).
#
#   make                 ayad and ayactl in build/rel/
#   make test            unit, integration and fuzz-corpus tests
#   make test SANITIZE=1 the same under ASan + UBSan (build/san/)
#   make bench           ayad against NSD, Knot, gdnsd; failover; gossip; steering; RRL (BENCH_PARTS)
#   make demo            a local cluster on loopback
#   make demo-load       cloud bursting: simulated resolvers against a running demo
#   make fuzz            libFuzzer targets (clang), FUZZ_SECONDS each
#   make check-format    clang-format --dry-run on every source
#   make check-layers    module order, public headers, symbol prefixes, no daemon cycle
#   make check-man       man pages: mandoc -Tlint clean, every config key, command, option
#   make install         ayad, ayactl, man pages, examples, ayad.service (PREFIX, DESTDIR)
#   make uninstall       removes what make install put there (same PREFIX, DESTDIR)
#   make deb             the Debian package: $(B)/deb/aya_<version>_<arch>.deb
#   V=1                  show commands
.DEFAULT_GOAL := all
.SUFFIXES:
.DELETE_ON_ERROR:
.SECONDARY:

SANITIZE ?= 0
V ?= 0
CFLAGS ?= -O2 -g
FUZZ_SECONDS ?= 60

ifeq ($(SANITIZE),1)
B := build/san
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
CFLAGS := -O1 -g
else
B := build/rel
SAN_FLAGS :=
endif

Q := $(if $(filter 1,$(V)),,@)
say = $(if $(filter 1,$(V)),,@printf '  %-7s %s\n' $(1) $(2);)

# Modules in dependency order: a module uses only those before it (DESIGN.md).
MODULES := common proto config geo state agent gossip policy dnsd control
PKGS := ldns libevent libevent_pthreads libevent_openssl libprotobuf-c libmaxminddb lmdb \
	openssl yaml-0.1 liburcu-qsbr jansson libcap libsystemd

# DEPS_SH=true skips the installs (debian/rules: a package build gets its
# libraries from Build-Depends and must not run apt-get).
DEPS_SH ?= scripts/deps.sh
# Debian packages and pkg-config flags, found once per build dir. Make
# rebuilds this file (installing what is missing) before anything else. The
# flags are read by the shell, not $(shell): make expands a whole recipe
# before its first line runs, so $(shell) would ask before deps.sh installs.
NO_CONFIG_GOALS := clean check-format format check-man uninstall deb
ifeq ($(filter-out $(NO_CONFIG_GOALS),$(or $(MAKECMDGOALS),all)),)
else
include $(B)/config.mk
endif
$(B)/config.mk: Makefile scripts/deps.sh
	@mkdir -p $(@D)
	$(Q)$(DEPS_SH) build
	$(Q)pkg-config --exists $(PKGS) cmocka || { echo "pkg-config: missing libraries" >&2; exit 1; }
	$(Q){ echo "PKG_CFLAGS := $$(pkg-config --cflags $(PKGS) cmocka)"; \
	      echo "PKG_LIBS := $$(pkg-config --libs $(PKGS))"; \
	      echo "CMOCKA_LIBS := $$(pkg-config --libs cmocka)"; } > $@.tmp
	$(Q)mv $@.tmp $@

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(SAN_FLAGS) -I. -I$(B) $(PKG_CFLAGS) \
	-pthread -MMD -MP
ALL_LDFLAGS = $(SAN_FLAGS) -pthread $(LDFLAGS)

# Each module.mk adds to <mod>_SRCS (library code), PROGRAMS and TESTS.
PROGRAMS :=
TESTS :=
include $(foreach m,$(MODULES),$(wildcard $(m)/module.mk)) daemon/module.mk

# Generated protobuf-c code: proto/x.proto -> $(B)/proto/x.pb-c.{c,h}.
PROTOS := $(wildcard proto/*.proto)
proto_SRCS := $(PROTOS:proto/%.proto=$(B)/proto/%.pb-c.c)
PROTO_HDRS := $(proto_SRCS:.c=.h)
$(B)/proto/%.pb-c.c $(B)/proto/%.pb-c.h: proto/%.proto | $(B)/config.mk
	@mkdir -p $(@D)
	$(call say,PROTOC,$<)
	$(Q)protoc-c --c_out=$(B) $<

obj = $(patsubst $(B)/%,$(B)/%,$(patsubst %.c,$(B)/obj/%.o,$(patsubst $(B)/%,%,$(1))))
$(B)/obj/%.o: %.c | $(B)/config.mk $(PROTO_HDRS)
	@mkdir -p $(@D)
	$(call say,CC,$<)
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<
$(B)/obj/proto/%.o: $(B)/proto/%.c | $(B)/config.mk
	@mkdir -p $(@D)
	$(call say,CC,$<)
	$(Q)$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes -c -o $@ $<

reverse = $(if $(1),$(call reverse,$(wordlist 2,$(words $(1)),$(1))) $(firstword $(1)))

# One archive per module; linked in reverse dependency order.
define module_lib
$(m)_OBJS := $$(call obj,$$($(m)_SRCS))
$(B)/lib/libaya_$(m).a: $$($(m)_OBJS)
	@mkdir -p $$(@D)
	$$(call say,AR,$$@)
	$(Q)rm -f $$@ && $(AR) rcs $$@ $$^
endef
LIB_MODULES := $(foreach m,$(MODULES),$(if $($(m)_SRCS),$(m)))
$(foreach m,$(LIB_MODULES),$(eval $(module_lib)))
LIBS := $(foreach m,$(call reverse,$(LIB_MODULES)),$(B)/lib/libaya_$(m).a)
ALL_OBJS := $(foreach m,$(LIB_MODULES),$($(m)_OBJS))

# Tests, fuzz replays and test programs (they use obj and LIBS, defined above).
include tests/module.mk

# Programs: <prog>_SRCS, linked with every module archive.
define program
$(B)/$(p): $$(call obj,$$($(p)_SRCS)) $$(LIBS)
	$$(call say,LD,$$@)
	$(Q)$(CC) $$(ALL_LDFLAGS) -o $$@ $$(call obj,$$($(p)_SRCS)) $$(LIBS) $$(PKG_LIBS)
ALL_OBJS += $$(call obj,$$($(p)_SRCS))
endef
$(foreach p,$(PROGRAMS),$(eval $(program)))

# Unit tests: tests/<mod>/test_x.c -> $(B)/tests/<mod>/test_x, cmocka.
TEST_BINS := $(TESTS:%.c=$(B)/%)
$(B)/tests/%: $(B)/obj/tests/%.o $(LIBS)
	@mkdir -p $(@D)
	$(call say,LD,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBS) $(PKG_LIBS) $(CMOCKA_LIBS)
ALL_OBJS += $(TESTS:%.c=$(B)/obj/%.o)

all: $(addprefix $(B)/,$(PROGRAMS))

test: all $(TEST_BINS) $(TEST_EXTRA) check-man
	$(Q)scripts/deps.sh test
	$(Q)B=$(B) SANITIZE=$(SANITIZE) scripts/run-tests.sh $(TEST_BINS)

# BENCH_PARTS picks the benchmarks: dns (static and geo answers against NSD,
# Knot, gdnsd, PowerDNS), failover (single-node probes), gossip (cluster),
# steer (the load-steering scenarios, simulated: docs/dev/steering.md), rrl (the
# cost of response rate limiting against NSD and Knot with theirs).
BENCH_PARTS ?= dns failover $(if $(wildcard scripts/bench-gossip.sh),gossip) steer rrl
bench: all $(BENCH_EXTRA)
	$(Q)scripts/deps.sh bench
	$(Q)$(if $(filter dns,$(BENCH_PARTS)),B=$(B) scripts/bench.sh)
	$(Q)$(if $(filter failover,$(BENCH_PARTS)),B=$(B) scripts/bench-failover.sh)
	$(Q)$(if $(filter gossip,$(BENCH_PARTS)),B=$(B) scripts/bench-gossip.sh)
	$(Q)$(if $(filter steer,$(BENCH_PARTS)),B=$(B) scripts/bench-steer.sh)
	$(Q)$(if $(filter rrl,$(BENCH_PARTS)),B=$(B) scripts/bench-rrl.sh)

demo: all
	$(Q)scripts/deps.sh demo
	$(Q)B=$(B) scripts/demo.sh

demo-load:
	$(Q)B=$(B) scripts/demo-load.sh

FUZZ_CC ?= clang
fuzz:
	$(Q)B=$(B) FUZZ_CC=$(FUZZ_CC) FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh

SOURCES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
check-format:
	$(Q)clang-format --dry-run --Werror $(SOURCES)
format:
	$(Q)clang-format -i $(SOURCES)

# DESIGN.md's module rules, from the sources and the built archives.
check-layers: all
	$(Q)python3 scripts/check-layers.py $(B) $(MODULES)

# The man pages follow config/schema.c, ayactl's commands and both programs'
# options (scripts/check-man.py); needs no build, only mandoc (the test set).
check-man:
	$(Q)scripts/deps.sh test
	$(Q)python3 scripts/check-man.py

clean:
	rm -rf build

# Installation. Never writes under /etc: the configuration is the operator's
# (the Debian package ships /etc/aya/aya.yaml as a conffile, debian/conf/).
# The unit is generated at each install, so that a changed PREFIX or SBINDIR
# is never served a stale file. SYSTEMDUNITDIR: debian/rules sets
# /lib/systemd/system (where Debian 12's dh_installsystemd looks).
PREFIX ?= /usr/local
DESTDIR ?=
SBINDIR ?= $(PREFIX)/sbin
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/aya
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
MAN5 := $(wildcard man/*.5)
MAN8 := $(wildcard man/*.8)
# The examples and the zone files they name (they must pass ayad --check there).
EXAMPLES := examples/aya.yaml examples/services.yaml
EXAMPLE_ZONES := examples/zones/svc.example.com.zone

install: all
	$(call say,INSTALL,$(DESTDIR)$(PREFIX))
	$(Q)install -D -m 0755 $(B)/ayad $(DESTDIR)$(SBINDIR)/ayad
	$(Q)install -D -m 0755 $(B)/ayactl $(DESTDIR)$(BINDIR)/ayactl
	$(Q)$(foreach f,$(MAN8),install -D -m 0644 $(f) $(DESTDIR)$(MANDIR)/man8/$(notdir $(f)) &&) :
	$(Q)$(foreach f,$(MAN5),install -D -m 0644 $(f) $(DESTDIR)$(MANDIR)/man5/$(notdir $(f)) &&) :
	$(Q)$(foreach f,$(EXAMPLES),install -D -m 0644 $(f) $(DESTDIR)$(DOCDIR)/$(f) &&) :
	$(Q)$(foreach f,$(EXAMPLE_ZONES),install -D -m 0644 $(f) $(DESTDIR)$(DOCDIR)/$(f) &&) :
	$(Q)sed 's|@SBINDIR@|$(SBINDIR)|g' daemon/ayad.service.in > $(B)/ayad.service.tmp
	$(Q)install -D -m 0644 $(B)/ayad.service.tmp $(DESTDIR)$(SYSTEMDUNITDIR)/ayad.service
	$(Q)rm -f $(B)/ayad.service.tmp

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/ayad $(DESTDIR)$(BINDIR)/ayactl \
		$(DESTDIR)$(SYSTEMDUNITDIR)/ayad.service \
		$(addprefix $(DESTDIR)$(MANDIR)/man8/,$(notdir $(MAN8))) \
		$(addprefix $(DESTDIR)$(MANDIR)/man5/,$(notdir $(MAN5))) \
		$(addprefix $(DESTDIR)$(DOCDIR)/,$(EXAMPLES) $(EXAMPLE_ZONES))
	-rmdir $(DESTDIR)$(DOCDIR)/examples/zones $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(DOCDIR)

# The Debian package, built by dpkg-buildpackage in a copy of the tree's
# tracked files as they are in the working tree (uncommitted edits included;
# build/ is never tracked, so the inner build starts clean). dpkg-buildpackage
# writes into the parent of the source dir: the copy is $(B)/deb/aya, the
# package $(B)/deb/aya_<version>_<arch>.deb. The outer MAKEFLAGS are dropped:
# the inner make's parallelism comes from DEB_JOBS (DEB_BUILD_OPTIONS).
DEB_JOBS ?= $(shell nproc)
deb:
	$(Q)scripts/deps.sh package
	$(Q)rm -rf $(B)/deb && mkdir -p $(B)/deb/aya
	$(Q)if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
		git ls-files -z | tar --null -T - --ignore-failed-read -cf - | tar -C $(B)/deb/aya -xf -; \
	else \
		tar --exclude=./build --exclude=./.git -cf - . | tar -C $(B)/deb/aya -xf -; \
	fi
	$(Q)cd $(B)/deb/aya && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
		dpkg-buildpackage -us -uc -b --jobs=$(DEB_JOBS) >../build.log 2>&1 || \
		{ tail -n 40 ../build.log; echo "make deb: failed, log: $(B)/deb/build.log" >&2; exit 1; }
	$(Q)v=$$(dpkg-parsechangelog -l debian/changelog -S Version) && \
		a=$$(dpkg --print-architecture) && ls -l $(B)/deb/aya_$${v}_$${a}.deb

.PHONY: all test bench demo demo-load fuzz check-format check-layers check-man format clean \
	install uninstall deb
-include $(ALL_OBJS:.o=.d)
