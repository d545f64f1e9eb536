# Fuzz targets replayed with the regular compiler: $(B)/fuzz/replay_<target>
# runs LLVMFuzzerTestOneInput over every file of the corpus directories given
# on its command line (tests/fuzz/corpus/<target>, by scripts/run-tests.sh),
# or writes the target's seeds (`--write-seeds DIR`). scripts/fuzz.sh builds
# the same sources with libFuzzer. A new target: tests/fuzz/fuzz_<t>.c, its
# name in FUZZ_TARGETS (and in scripts/fuzz.sh), FUZZ_<t>_EXTRA for test
# sources it needs besides the module archives, a corpus directory.
FUZZ_TARGETS := query gossip pushpull state control http load config zone
FUZZ_query_EXTRA := tests/dnsd/fixture.c
FUZZ_pushpull_EXTRA := tests/fuzz/util.c
FUZZ_state_EXTRA := tests/fuzz/util.c
FUZZ_config_EXTRA := tests/fuzz/util.c
FUZZ_zone_EXTRA := tests/fuzz/util.c

define fuzz_replay
FUZZ_$(t)_SRCS := tests/fuzz/replay.c tests/fuzz/fuzz_$(t).c $$(FUZZ_$(t)_EXTRA)
$(B)/fuzz/replay_$(t): $$(call obj,$$(FUZZ_$(t)_SRCS)) $$(LIBS)
	@mkdir -p $$(@D)
	$$(call say,LD,$$@)
	$(Q)$$(CC) $$(ALL_LDFLAGS) -o $$@ $$(call obj,$$(FUZZ_$(t)_SRCS)) $$(LIBS) $$(PKG_LIBS)
ALL_OBJS += $$(call obj,$$(FUZZ_$(t)_SRCS))
TEST_EXTRA += $(B)/fuzz/replay_$(t)
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(fuzz_replay)))

# For scripts/fuzz.sh: the module archives of this build directory (built
# with the fuzzer's compiler and flags) and what each target links besides,
# as shell assignments in $(B)/fuzz.env.
$(B)/fuzz.env: $(LIBS) tests/fuzz/module.mk
	$(Q){ echo "FUZZ_TARGETS='$(FUZZ_TARGETS)'"; \
	      echo "FUZZ_CFLAGS='-I. -I$(B) $(PKG_CFLAGS)'"; \
	      echo "FUZZ_LIBS='$(LIBS) $(PKG_LIBS)'"; \
	      $(foreach t,$(FUZZ_TARGETS),echo "srcs_$(t)='tests/fuzz/fuzz_$(t).c $(FUZZ_$(t)_EXTRA)'";) \
	    } > $@
fuzz-env: $(B)/fuzz.env
.PHONY: fuzz-env
