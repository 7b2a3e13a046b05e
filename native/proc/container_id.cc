// Container id from a cgroup path. Pure function, table-tested in test/native/process-table.
#include <string>
#include <string_view>

#include "process_table.h"

namespace pmg {
namespace {

bool isHex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// One path component: `<runtime prefix><64hex>[.scope]` or a bare `<64hex>`.
// "crio-conmon-<id>.scope" and "libpod-conmon-<id>.scope" hold the monitor, not the container:
// after the prefix they are not 64 hex, so they do not match.
std::string_view idOfComponent(std::string_view c) {
  static constexpr std::string_view kPrefixes[] = {"docker-", "cri-containerd-", "crio-",
                                                   "libpod-"};
  constexpr std::string_view kScope = ".scope";
  if (c.size() > kScope.size() && c.substr(c.size() - kScope.size()) == kScope) {
    c.remove_suffix(kScope.size());
  }
  if (isHex64(c)) return c;
  for (std::string_view p : kPrefixes) {
    if (c.size() > p.size() && c.substr(0, p.size()) == p && isHex64(c.substr(p.size()))) {
      return c.substr(p.size());
    }
  }
  return {};
}

}  // namespace

// Walks the components from the innermost outwards, so nested paths such as
// ".../libpod-<id>.scope/container" or "/docker/<id>/init.scope" name their container.
std::string containerIdFromCgroup(std::string_view path) {
  while (!path.empty()) {
    size_t slash = path.rfind('/');
    std::string_view comp = slash == std::string_view::npos ? path : path.substr(slash + 1);
    std::string_view id = idOfComponent(comp);
    if (!id.empty()) return std::string(id);
    if (slash == std::string_view::npos) break;
    path = path.substr(0, slash);
  }
  return {};
}

}  // namespace pmg
