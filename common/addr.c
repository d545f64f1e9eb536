/* Address helpers (common/addr.h). */
#include "common/addr.h"

const uint8_t aya_v4mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
