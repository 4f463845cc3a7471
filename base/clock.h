/* clock.h: monotonic and wall clocks in nanoseconds. */
#pragma once

#include <stdint.h>

uint64_t clock_now_ns(void);      /* CLOCK_MONOTONIC */
uint64_t clock_wall_ns(void);     /* CLOCK_REALTIME */
