#include "records.h"

#include <linux/audit.h>
#include <sys/sysmacros.h>

#include <cstdlib>

namespace pmg::audit {

namespace {

uint64_t parseUnsigned(std::string_view s, int base) {
  std::string tmp(s);
  return std::strtoull(tmp.c_str(), nullptr, base);
}

int64_t parseSigned(std::string_view s) {
  std::string tmp(s);
  return std::strtoll(tmp.c_str(), nullptr, 10);
}

int hexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

uint64_t fieldU(std::string_view body, std::string_view key, int base) {
  std::string_view raw;
  return findField(body, key, &raw) ? parseUnsigned(raw, base) : 0;
}

bool fieldStr(std::string_view body, std::string_view key, std::string* out) {
  std::string_view raw;
  if (!findField(body, key, &raw)) return false;
  *out = decodeValue(raw);
  return true;
}

uint64_t parseDev(std::string_view raw) {
  size_t colon = raw.find(':');
  if (colon == std::string_view::npos) return 0;
  return makedev(parseUnsigned(raw.substr(0, colon), 16), parseUnsigned(raw.substr(colon + 1), 16));
}

}  // namespace

bool parseHeader(std::string_view text, uint64_t* serial, std::string_view* body) {
  if (text.substr(0, 6) != "audit(") return false;
  size_t colon = text.find(':', 6);
  size_t close = text.find("): ", 6);
  if (colon == std::string_view::npos || close == std::string_view::npos || colon > close) {
    return false;
  }
  *serial = parseUnsigned(text.substr(colon + 1, close - colon - 1), 10);
  *body = text.substr(close + 3);
  return true;
}

bool findField(std::string_view body, std::string_view key, std::string_view* raw) {
  size_t pos = 0;
  while (pos < body.size()) {
    size_t end = body.find(' ', pos);
    if (end == std::string_view::npos) end = body.size();
    std::string_view tok = body.substr(pos, end - pos);
    if (tok.size() > key.size() && tok.substr(0, key.size()) == key && tok[key.size()] == '=') {
      *raw = tok.substr(key.size() + 1);
      return true;
    }
    pos = end + 1;
  }
  return false;
}

std::string decodeValue(std::string_view raw) {
  if (raw.size() >= 2 && raw.front() == '"' && raw.back() == '"') {
    return std::string(raw.substr(1, raw.size() - 2));
  }
  if (raw == "(null)" || raw == "(none)") return {};
  if (raw.size() % 2 != 0) return std::string(raw);
  std::string out;
  out.reserve(raw.size() / 2);
  for (size_t i = 0; i < raw.size(); i += 2) {
    int hi = hexDigit(raw[i]), lo = hexDigit(raw[i + 1]);
    if (hi < 0 || lo < 0) return std::string(raw);  // not hex after all
    out.push_back(static_cast<char>(hi << 4 | lo));
  }
  return out;
}

bool Assembler::feed(uint16_t type, std::string_view text, int64_t now_ms,
                     std::vector<AuditEvent>* done, uint64_t* incomplete) {
  uint64_t serial;
  std::string_view body;
  if (!parseHeader(text, &serial, &body)) return false;
  if (type == AUDIT_SYSCALL || type == AUDIT_URINGOP) {
    AuditEvent ev;
    ev.serial = serial;
    ev.first_ms = now_ms;
    ev.have_syscall = true;
    if (type == AUDIT_SYSCALL) {
      ev.arch = static_cast<uint32_t>(fieldU(body, "arch", 16));
      ev.syscall = static_cast<int>(fieldU(body, "syscall", 10));
    } else {
      ev.syscall = static_cast<int>(fieldU(body, "uring_op", 10));
    }
    std::string_view raw;
    ev.success = findField(body, "success", &raw) && raw == "yes";
    if (findField(body, "exit", &raw)) ev.exit = parseSigned(raw);
    static const char* const kArgs[4] = {"a0", "a1", "a2", "a3"};
    for (int i = 0; i < 4; i++) ev.args[i] = fieldU(body, kArgs[i], 16);
    ev.pid = static_cast<int32_t>(fieldU(body, "pid", 10));
    if (!wanted_(ev)) return true;
    ev.ppid = static_cast<int32_t>(fieldU(body, "ppid", 10));
    ev.uid = static_cast<uint32_t>(fieldU(body, "uid", 10));
    ev.gid = static_cast<uint32_t>(fieldU(body, "gid", 10));
    fieldStr(body, "comm", &ev.comm);
    fieldStr(body, "exe", &ev.exe);
    fieldStr(body, "key", &ev.key);
    if (pending_.size() >= max_pending_) retire(pending_.begin(), done, incomplete);
    pending_[serial] = std::move(ev);
    return true;
  }
  auto it = pending_.find(serial);
  if (it == pending_.end()) return true;  // not an event we assemble
  AuditEvent& ev = it->second;
  switch (type) {
    case AUDIT_CWD:
      ev.have_cwd = fieldStr(body, "cwd", &ev.cwd);
      break;
    case AUDIT_PATH: {
      PathItem p;
      p.item = static_cast<int>(fieldU(body, "item", 10));
      std::string_view raw;
      if (findField(body, "name", &raw) && raw != "(null)") {
        p.has_name = true;
        p.name = decodeValue(raw);
      }
      p.inode = fieldU(body, "inode", 10);
      if (findField(body, "dev", &raw)) p.dev = parseDev(raw);
      p.mode = static_cast<uint32_t>(fieldU(body, "mode", 8));
      fieldStr(body, "nametype", &p.nametype);
      ev.paths.push_back(std::move(p));
      break;
    }
    case AUDIT_EOE:
      ev.have_eoe = true;
      done->push_back(std::move(ev));
      pending_.erase(it);
      break;
    default:  // PROCTITLE and anything else: nothing we need
      break;
  }
  return true;
}

void Assembler::retire(std::map<uint64_t, AuditEvent>::iterator it, std::vector<AuditEvent>* done,
                       uint64_t* incomplete) {
  if (!it->second.paths.empty()) {
    done->push_back(std::move(it->second));
  } else {
    ++*incomplete;
  }
  pending_.erase(it);
}

void Assembler::expire(int64_t now_ms, std::vector<AuditEvent>* done, uint64_t* incomplete) {
  for (auto it = pending_.begin(); it != pending_.end();) {
    auto next = std::next(it);
    if (now_ms - it->second.first_ms >= max_age_ms_) retire(it, done, incomplete);
    it = next;
  }
}

}  // namespace pmg::audit
