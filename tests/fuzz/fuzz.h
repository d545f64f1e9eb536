/* The libFuzzer entry point every target defines (prototype for -Wmissing-prototypes). */
#pragma once

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
