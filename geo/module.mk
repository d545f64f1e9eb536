# geo: MaxMind DB -> precomputed prefix tree of region orders.
geo_SRCS := $(wildcard geo/*.c)
# Unit vectors need sin/cos.
PKG_LIBS += -lm
