common_SRCS := common/log.c common/arena.c common/dname.c common/addr.c common/stats.c common/listen.c
