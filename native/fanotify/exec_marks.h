// Exec marks: FAN_OPEN_EXEC on the filesystems of the host's mount namespace, so that every
// binary exec'd after start is named by path (dev, inode -> path) before the process can
// exit. An opener that exec'd, opened a mem file and exited within a millisecond is then
// still given its exe from its TASKSTATS exit record (see ProcessTable).
#pragma once

#include <string>

namespace pmg {

// Marks every non-pseudo filesystem mounted in our mount namespace (ext4, xfs, btrfs, tmpfs,
// overlay, ...) with FAN_OPEN_EXEC on `group`. Returns how many were marked; `failed` gets a
// description of the first failure (marking is best effort: exe attribution degrades, capture
// does not).
int markExecFilesystems(int group, std::string* failed);

}  // namespace pmg
