// runtime/cpu_count.hpp — how many CPUs the process may use, for
// config::workers = 0 ("one carrier per CPU").
//
// Design notes
//  1. Two limits, the smaller wins: the calling thread's affinity mask
//     (sched_getaffinity: taskset, cpuset cgroups and container runtimes
//     narrow it) and the cgroup v2 CPU quota (cpu.max "quota period" of the
//     process's cgroup and of every ancestor, each rounded up: a quota of
//     1.5 CPUs gives 2 carriers, since a carrier that idles costs nothing).
//  2. cgroup v1 (cpu.cfs_quota_us) is not read: v2 is what current systems
//     and container runtimes mount; a v1-only host counts its mask only.
//  3. Files are read with raw syscalls, so the libc hooks never see them.
#pragma once
#include <string>

namespace weft::detail {

// usable_cpus() is min(affinity CPUs, cgroup v2 quota), at least 1. Any
// thread; reads /proc and /sys at each call.
unsigned usable_cpus() noexcept;

// affinity_cpus() is the number of CPUs in the calling thread's affinity
// mask, at least 1. Any thread.
unsigned affinity_cpus() noexcept;

// cgroup_cpu_quota() is the CPU quota, rounded up, of the cgroup at `path`
// (as /proc/self/cgroup names it, e.g. "/a/b") under the cgroup v2 mount
// `root`, the smallest along the path to the root; 0 when none is set.
// Any thread.
unsigned cgroup_cpu_quota(const std::string& root, const std::string& path) noexcept;

// parse_cpu_max() reads a cpu.max line ("max 100000", "150000 100000"): the
// quota in CPUs rounded up, 0 for "max" or a malformed line. Any thread.
unsigned parse_cpu_max(const char* text) noexcept;

}  // namespace weft::detail
