#include "procfs_devs.h"

#include <dirent.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace pmg::audit {

std::set<uint64_t> procfsDevicesIn(const std::string& mountinfo_path) {
  std::set<uint64_t> devs;
  FILE* f = fopen(mountinfo_path.c_str(), "re");
  if (!f) return devs;
  char* line = nullptr;
  size_t cap = 0;
  while (getline(&line, &cap, f) > 0) {
    unsigned maj, min;
    const char* sep = strstr(line, " - ");
    if (!sep || sscanf(line, "%*d %*d %u:%u", &maj, &min) != 2) continue;
    if (strncmp(sep + 3, "proc ", 5) == 0) devs.insert(makedev(maj, min));
  }
  free(line);
  fclose(f);
  return devs;
}

std::set<uint64_t> procfsDevicesAllNamespaces() {
  std::set<uint64_t> devs = procfsDevicesIn("/proc/self/mountinfo");
  DIR* d = opendir("/proc");
  if (!d) return devs;
  std::set<uint64_t> seen_ns;
  struct stat st;
  if (stat("/proc/self/ns/mnt", &st) == 0) seen_ns.insert(st.st_ino);
  char path[300];  // d_name is at most 255 bytes
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
    snprintf(path, sizeof(path), "/proc/%s/ns/mnt", e->d_name);
    if (stat(path, &st) != 0 || !seen_ns.insert(st.st_ino).second) continue;
    snprintf(path, sizeof(path), "/proc/%s/mountinfo", e->d_name);
    std::set<uint64_t> more = procfsDevicesIn(path);
    devs.insert(more.begin(), more.end());
  }
  closedir(d);
  return devs;
}

}  // namespace pmg::audit
