# gossip: SWIM + Lifeguard membership, dissemination, AES-GCM envelope.
gossip_SRCS := gossip/addr.c gossip/crypto.c gossip/queue.c gossip/member.c gossip/node.c \
	gossip/recv.c gossip/epoch.c gossip/observers.c gossip/keyop.c gossip/keyfile.c gossip/tcpslots.c gossip/transport_ev.c gossip/replicate.c
PKG_LIBS += -lm
