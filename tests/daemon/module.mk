# The daemon is a program, not a library: its tests link the daemon objects
# they test besides their own.
DAEMON_CONFHASH := $(B)/obj/daemon/confhash.o
$(B)/tests/daemon/test_confhash: $(DAEMON_CONFHASH)
$(B)/tests/daemon/test_confhash: LDFLAGS += $(DAEMON_CONFHASH)
