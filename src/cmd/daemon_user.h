// The user the daemon runs as (daemon.user, daemon.group): who it becomes after binding its
// listeners and opening its store as root, and the files it hands over to that user.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>

#include "config/config.h"
#include "core/result.h"

namespace mailwarden {

struct DaemonUser {
  uid_t uid = 0;
  gid_t gid = 0;
  std::string name;
};

// What a process running with effective uid `euid` does with daemon.user and daemon.group:
// a user to become (started as root, daemon.user names another user), or nullopt to stay as
// started (not root and daemon.user empty or its own; or daemon.user = "root", allowed with
// a warning for development only). Fails with kInvalidInput, naming the key, when started as
// root with daemon.user empty (root never handles mail unless told so), when the user or group
// does not exist, or when a user other than root is asked to become someone else.
Result<std::optional<DaemonUser>> ResolveDaemonUser(const Config::Daemon& daemon, uid_t euid);

// Gives a file or folder the daemon made as root to the user (lchown; a missing path is fine).
Result<void> HandOver(const std::filesystem::path& path, const DaemonUser& user);

// Becomes the user for good: supplementary groups (the user's own), gid, then uid, real,
// effective and saved alike. Fails, and the caller must exit, when a step fails or when root
// can still be had back afterwards.
Result<void> BecomeUser(const DaemonUser& user);

}  // namespace mailwarden
