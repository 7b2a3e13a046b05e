// Finding every procfs superblock on the host. Each procfs mount is its own superblock with its
// own anonymous device number (Linux >= 5.8), and audit rules match a device exactly
// (AUDIT_DEVMAJOR/AUDIT_DEVMINOR), so the backend keeps one rule pair per procfs device.
#pragma once

#include <cstdint>
#include <set>
#include <string>

namespace pmg::audit {

// Devices (st_dev encoding) of the procfs mounts listed in one mountinfo file.
std::set<uint64_t> procfsDevicesIn(const std::string& mountinfo_path);

// Devices of the procfs mounts of every mount namespace that has a process in it (one
// mountinfo read per namespace). Always includes our own namespace's.
std::set<uint64_t> procfsDevicesAllNamespaces();

}  // namespace pmg::audit
