#include "cmd/daemon_user.h"

#include <grp.h>
#include <pwd.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace mailwarden {
namespace {

// getpwnam_r/getgrnam_r's buffer: their suggested size, or a generous one when unsaid.
std::vector<char> LookupBuffer(int name) {
  const long size = ::sysconf(name);
  return std::vector<char>(size > 0 ? static_cast<std::size_t>(size) : 16384);
}

}  // namespace

Result<std::optional<DaemonUser>> ResolveDaemonUser(const Config::Daemon& daemon, uid_t euid) {
  if (daemon.user.empty()) {
    if (euid != 0) return std::optional<DaemonUser>();
    return Fail(ErrorCode::kInvalidInput,
                "daemon.user: mailwardend was started as root and does not handle mail as root; "
                "set daemon.user to the user it should run as (e.g. \"mailwarden\")");
  }
  passwd pw{};
  passwd* found = nullptr;
  auto buffer = LookupBuffer(_SC_GETPW_R_SIZE_MAX);
  const int error = ::getpwnam_r(daemon.user.c_str(), &pw, buffer.data(), buffer.size(), &found);
  if (found == nullptr) {
    return Fail(ErrorCode::kInvalidInput,
                "daemon.user: no user \"" + daemon.user + "\" on this system" +
                    (error != 0 ? std::string(" (") + std::strerror(error) + ")" : ""));
  }
  DaemonUser user{.uid = pw.pw_uid, .gid = pw.pw_gid, .name = daemon.user};
  if (!daemon.group.empty()) {
    group gr{};
    group* group_found = nullptr;
    auto group_buffer = LookupBuffer(_SC_GETGR_R_SIZE_MAX);
    ::getgrnam_r(daemon.group.c_str(), &gr, group_buffer.data(), group_buffer.size(), &group_found);
    if (group_found == nullptr) {
      return Fail(ErrorCode::kInvalidInput,
                  "daemon.group: no group \"" + daemon.group + "\" on this system");
    }
    user.gid = gr.gr_gid;
  }
  if (user.uid == 0) {
    spdlog::warn(
        "daemon.user is \"{}\", uid 0: mailwardend handles mail as root; this is for "
        "development only, never for a server",
        daemon.user);
    return std::optional<DaemonUser>();
  }
  if (euid == user.uid) return std::optional<DaemonUser>();
  if (euid != 0) {
    return Fail(ErrorCode::kInvalidInput, "daemon.user: started as uid " + std::to_string(euid) +
                                              ", which cannot become \"" + daemon.user +
                                              "\" (uid " + std::to_string(user.uid) +
                                              "): start mailwardend as root or as that user");
  }
  return std::optional<DaemonUser>(std::move(user));
}

Result<void> HandOver(const std::filesystem::path& path, const DaemonUser& user) {
  if (::lchown(path.c_str(), user.uid, user.gid) != 0 && errno != ENOENT) {
    return Fail(ErrorCode::kUnavailable,
                "cannot give " + path.string() + " to " + user.name + ": " + std::strerror(errno));
  }
  return {};
}

Result<void> BecomeUser(const DaemonUser& user) {
  auto failed = [&user](std::string_view step) {
    return Fail(ErrorCode::kUnavailable, "cannot become " + user.name + " (" + std::string(step) +
                                             "): " + std::strerror(errno));
  };
  // Groups first, while root may still change them: root's supplementary groups must not stay.
  if (::initgroups(user.name.c_str(), user.gid) != 0) return failed("initgroups");
  if (::setresgid(user.gid, user.gid, user.gid) != 0) return failed("setresgid");
  // Real, effective and saved uid all at once (glibc applies it to every thread): none left
  // to switch back to.
  if (::setresuid(user.uid, user.uid, user.uid) != 0) return failed("setresuid");
  if (::setuid(0) == 0 || ::seteuid(0) == 0 || (user.gid != 0 && ::setgid(0) == 0)) {
    errno = EPERM;
    return failed("root could be had back");
  }
  uid_t r = 0, e = 0, s = 0;
  if (::getresuid(&r, &e, &s) != 0 || r != user.uid || e != user.uid || s != user.uid) {
    return failed("the uids did not all change");
  }
  return {};
}

}  // namespace mailwarden
