# dnsd: answer engine (wire, snap, answer, edns, cookie, counters) and socket server.
dnsd_SRCS := $(wildcard dnsd/*.c)
