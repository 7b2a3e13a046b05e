// recordLayout(): the byte layout of CaptureRecord (native/record.h) and of the ring header
// (native/ring/ring.h), computed by the compiler, so that a test without root can check the
// TypeScript decoder (src/capture/record.ts, src/capture/ring.ts) against the struct it reads:
//   { recordSize, recordVersion,
//     fields: { <field>: { offset, size } }   every CaptureRecord member, by its C++ name
//     ring: { headerSize, headerVersion, magic, magicOffset, versionOffset, capacityOffset,
//             recordSizeOffset, writeSeqOffset, readSeqOffset, wakePendingOffset, lostOffset,
//             lostSlots, defaultCapacity, maxCapacity } }
#include <napi.h>

#include <cstddef>

#include "record.h"
#include "ring/ring.h"

// Every member of CaptureRecord, in declaration order. A member missing here is caught by the
// static_assert below (the sizes must add up to the whole record).
// clang-format off
#define PMG_RECORD_FIELDS(X) \
  X(size) X(version) X(backend) X(flags_source) X(timestamp_ns) X(monotonic_ns) \
  X(host_pid) X(host_tid) X(host_ppid) X(ns_pid) X(ns_tid) X(ns_ppid) X(uid) X(gid) \
  X(target_pid) X(target_tid) X(open_flags) X(mnt_ns) X(pid_ns) X(record_flags) X(dev) \
  X(inode) X(ctime_ns) X(cgroup_id) X(thread_start_ns) X(return_value) X(syscall_nr) \
  X(comm) X(container_id) X(pathname) X(syscall_pathname) X(exe) X(processor_id) \
  X(target_uid) X(target_start_ns) X(target_relation) X(target_known) X(target_reserved) \
  X(target_comm) X(target_container_id) X(target_exe) X(parent_exe) X(guard_action) \
  X(guard_reserved) X(record_kind) X(io_end) X(io_reserved) X(io_fd) X(io_pad) X(io_reads) \
  X(io_writes) X(io_bytes_read) X(io_bytes_written) X(io_open_monotonic_ns) X(reserved)
// clang-format on

namespace pmg {
namespace {

#define PMG_MEMBER_SIZE(name) +sizeof(CaptureRecord::name)
static_assert(0 PMG_RECORD_FIELDS(PMG_MEMBER_SIZE) == kRecordSize,
              "PMG_RECORD_FIELDS must list every member of CaptureRecord");
#undef PMG_MEMBER_SIZE

Napi::Object field(Napi::Env env, size_t offset, size_t size) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("offset", Napi::Number::New(env, static_cast<double>(offset)));
  o.Set("size", Napi::Number::New(env, static_cast<double>(size)));
  return o;
}

Napi::Value RecordLayout(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto num = [&](double v) { return Napi::Number::New(env, v); };
  Napi::Object fields = Napi::Object::New(env);
#define PMG_FIELD(name) \
  fields.Set(#name, field(env, offsetof(CaptureRecord, name), sizeof(CaptureRecord::name)));
  PMG_RECORD_FIELDS(PMG_FIELD)
#undef PMG_FIELD
  Napi::Object ring = Napi::Object::New(env);
  ring.Set("headerSize", num(kRingHeaderSize));
  ring.Set("headerVersion", num(kRingHeaderVersion));
  ring.Set("magic", num(kRingMagic));
  ring.Set("magicOffset", num(kRingMagicOffset));
  ring.Set("versionOffset", num(kRingVersionOffset));
  ring.Set("capacityOffset", num(kRingCapacityOffset));
  ring.Set("recordSizeOffset", num(kRingRecordSizeOffset));
  ring.Set("writeSeqOffset", num(kRingWriteSeqOffset));
  ring.Set("readSeqOffset", num(kRingReadSeqOffset));
  ring.Set("wakePendingOffset", num(kRingWakePendingOffset));
  ring.Set("lostOffset", num(kRingLostOffset));
  ring.Set("lostSlots", num(kRingLostSlots));
  ring.Set("defaultCapacity", num(kRingDefaultCapacity));
  ring.Set("maxCapacity", num(kRingMaxCapacity));
  Napi::Object out = Napi::Object::New(env);
  out.Set("recordSize", num(kRecordSize));
  out.Set("recordVersion", num(kRecordVersion));
  out.Set("fields", fields);
  out.Set("ring", ring);
  return out;
}

}  // namespace

void registerRecordLayout(Napi::Env env, Napi::Object exports) {
  exports.Set("recordLayout", Napi::Function::New(env, RecordLayout));
}

}  // namespace pmg
