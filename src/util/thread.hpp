// Names the calling thread, so that `top -H`, `ps -L`, /proc/PID/task/*/comm
// and profilers tell tlflow's threads apart (at most 15 characters show).
#pragma once

#include <pthread.h>

namespace tlflow::util {

inline void name_this_thread(const char* name) noexcept { (void)::pthread_setname_np(::pthread_self(), name); }

} // namespace tlflow::util
