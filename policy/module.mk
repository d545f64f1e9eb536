# policy: service snapshot compiler and the answer chain (pol_answer).
policy_SRCS := $(wildcard policy/*.c)
