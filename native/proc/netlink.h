// The two kernel feeds of the process table: the proc connector (fork, exec, uid/gid, comm,
// exit) and TASKSTATS exit records (comm, pid, ppid, uid of every exiting task).
#pragma once

#include <linux/cn_proc.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "../util/unique_fd.h"

namespace pmg {
namespace netlink {

// Opens a non-blocking NETLINK_CONNECTOR socket subscribed to CN_IDX_PROC
// (PROC_CN_MCAST_LISTEN). Returns it, or an invalid fd with `err` and errno set.
// `rcvbuf` is the receive queue size asked for (SO_RCVBUFFORCE, else SO_RCVBUF).
UniqueFd openProcConnector(int rcvbuf, std::string* err);
// Sends PROC_CN_MCAST_IGNORE and closes.
void closeProcConnector(UniqueFd* fd);
// Calls on_event for each proc_event in one datagram from the kernel.
void parseProcEvents(const char* buf, size_t len, void (*on_event)(void*, const proc_event&),
                     void* ctx);

// A TASKSTATS exit record (TASKSTATS_TYPE_AGGR_PID).
struct TaskExit {
  int32_t pid = 0, tgid = 0, ppid = 0;
  uint32_t uid = 0, gid = 0;
  uint64_t exe_dev = 0, exe_ino = 0;  // 0 on kernels before TASKSTATS v12
  uint64_t elapsed_us = 0;            // ac_etime: from task start to exit
  char comm[33] = {};
};

// Opens a non-blocking generic netlink socket registered as a TASKSTATS listener for every
// possible CPU. Returns it, or an invalid fd with `err` set. `family` receives the family id.
UniqueFd openTaskstats(int rcvbuf, uint16_t* family, std::string* err);
// Deregisters and closes.
void closeTaskstats(UniqueFd* fd, uint16_t family);
// Appends the exit records in one datagram.
void parseTaskstats(const char* buf, size_t len, uint16_t family, std::vector<TaskExit>* out);

}  // namespace netlink
}  // namespace pmg
