/*
 * fuzz_target.h - the entry point libFuzzer calls, declared once for every target, so each
 * fuzz_*.c defines it with its prototype in view (-Wmissing-prototypes).
 */
#ifndef CHATD_FUZZ_TARGET_H
#define CHATD_FUZZ_TARGET_H

#include <stddef.h>
#include <stdint.h>

/* Runs one input; libFuzzer expects 0 (a finding traps instead of returning). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
