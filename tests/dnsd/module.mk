# dnsd tests share a fixture (cfg_t from RR text via ldns). The generic test
# rule links only test_x.o and the archives, so the fixture object is added
# to those binaries' link line here.
DNSD_FIXTURE := $(B)/obj/tests/dnsd/fixture.o
DNSD_FIXTURE_USERS := $(B)/tests/dnsd/test_answer $(B)/tests/dnsd/test_wire \
	$(B)/tests/dnsd/test_alloc $(B)/tests/dnsd/test_service $(B)/tests/dnsd/test_rrl \
	$(B)/tests/dnsd/test_tsig $(B)/tests/dnsd/test_dnssec
$(DNSD_FIXTURE_USERS): $(DNSD_FIXTURE)
$(DNSD_FIXTURE_USERS): LDFLAGS += $(DNSD_FIXTURE)
ALL_OBJS += $(DNSD_FIXTURE)
