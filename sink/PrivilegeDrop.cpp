#include "sink/PrivilegeDrop.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace bccsink {
namespace {

std::string modeText(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

// The permission bits (r=4, w=2, x=1) the kernel applies to `account` for this file.
unsigned permitted(const struct stat& st, const Account& account) {
  if (st.st_uid == account.uid) return (st.st_mode >> 6) & 7;
  if (std::find(account.groups.begin(), account.groups.end(), st.st_gid) != account.groups.end())
    return (st.st_mode >> 3) & 7;
  return st.st_mode & 7;
}

// What bccsink makes at DataDir's top level (DataDirLock, the SQLite database and its
// journals, the spool, the content store, the report Maildir, deploy/run.sh's first-run
// token `http-token`); and "bccsink*" for files such as a moved-aside database.
bool isBccsinkEntry(const std::string& name) {
  return name == "spool" || name == "files" || name == "reports" || name == "http-token" ||
         name.rfind("bccsink", 0) == 0;
}

// fd's entry given to `account` when root owns it (a folder, or a regular file with one
// link), and, for a folder, everything below it. Every entry is opened with O_NOFOLLOW
// relative to its parent's descriptor, so a link swapped in during the walk is not followed.
void takeOver(int fd, const std::string& path, const Account& account,
              std::vector<std::string>& changed) {
  struct stat st {};
  if (fstat(fd, &st) != 0) return;
  const bool dir = S_ISDIR(st.st_mode);
  if (!dir && !(S_ISREG(st.st_mode) && st.st_nlink == 1)) return;
  if (st.st_uid == 0) {
    if (fchown(fd, account.uid, account.gid) != 0) {
      throw std::runtime_error("cannot give " + path + " to " + account.name + ": " +
                               std::strerror(errno));
    }
    // A second link made between the look and the change (by the user the file goes to,
    // where fs.protected_hardlinks is off) would hand it a file of root's elsewhere: the
    // change is undone and the file left alone.
    struct stat after {};
    if (!dir && (fstat(fd, &after) != 0 || after.st_nlink != 1)) {
      if (fchown(fd, 0, st.st_gid) != 0) {
        throw std::runtime_error("cannot give " + path + " back to root: " + std::strerror(errno));
      }
      return;
    }
    changed.push_back(path);
  }
  if (!dir) return;
  int listFd = dup(fd);
  DIR* list = listFd >= 0 ? fdopendir(listFd) : nullptr;
  if (!list) {
    if (listFd >= 0) close(listFd);
    throw std::runtime_error("cannot list " + path + ": " + std::strerror(errno));
  }
  while (dirent* e = readdir(list)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    int child = openat(fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (child < 0) continue;  // a symbolic link (ELOOP), a socket: not ours to change
    try {
      takeOver(child, path + "/" + name, account, changed);
    } catch (...) {
      close(child);
      closedir(list);
      throw;
    }
    close(child);
  }
  closedir(list);
}

}  // namespace

Account lookUpAccount(const std::string& user) {
  errno = 0;
  const passwd* pw = getpwnam(user.c_str());
  if (!pw) {
    throw std::runtime_error(
        "option User: no user '" + user +
        "' on this system: create it (adduser --system --group --no-create-home --home "
        "/var/lib/bccsink " +
        user + ") or set User = '' to stay root (not advised)");
  }
  Account a{user, pw->pw_uid, pw->pw_gid, {}};
  int count = 64;
  std::vector<gid_t> groups(count);
  while (getgrouplist(user.c_str(), a.gid, groups.data(), &count) < 0) groups.resize(count);
  groups.resize(count);
  a.groups = groups;
  if (a.uid == 0) throw std::runtime_error("option User: '" + user + "' is root (uid 0)");
  return a;
}

std::string whyUnreachable(const std::string& dataDir, const Account& account, bool checkDataDir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path target = fs::absolute(dataDir, ec).lexically_normal();
  if (ec) return "cannot resolve DataDir " + dataDir + ": " + ec.message();
  if (!target.has_filename()) target = target.parent_path();
  fs::path walked = target.root_path();
  std::vector<fs::path> chain{walked};
  for (const auto& part : target.relative_path()) {
    walked /= part;
    chain.push_back(walked);
  }
  for (std::size_t i = 0; i < chain.size(); ++i) {
    const bool last = i + 1 == chain.size();
    if (last && !checkDataDir) break;
    struct stat st {};
    if (stat(chain[i].c_str(), &st) != 0) {
      // Not made yet: serve makes it (as root), and the check after the take-over sees it.
      if (errno == ENOENT && !checkDataDir) return "";
      return chain[i].string() + ": " + std::strerror(errno);
    }
    const unsigned need = last ? 7 : 1;
    if ((permitted(st, account) & need) != need) {
      return chain[i].string() + " (mode " + modeText(st.st_mode) + ", owner uid " +
             std::to_string(st.st_uid) + ", gid " + std::to_string(st.st_gid) + ") cannot be " +
             (last ? "read, written and searched" : "searched") + " by user " + account.name;
    }
  }
  return "";
}

std::vector<std::string> takeOverDataDir(const std::string& dataDir, const Account& account) {
  std::vector<std::string> changed;
  int fd = open(dataDir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    throw std::runtime_error("cannot open DataDir " + dataDir + ": " + std::strerror(errno));
  try {
    struct stat st {};
    fstat(fd, &st);
    bool onlyOurs = true;
    std::vector<std::string> ours;
    for (const auto& e : std::filesystem::directory_iterator(dataDir)) {
      std::string name = e.path().filename().string();
      if (isBccsinkEntry(name)) {
        ours.push_back(name);
      } else {
        onlyOurs = false;
      }
    }
    // DataDir itself only when it is bccsink's folder: never /var or /tmp, say.
    if (st.st_uid == 0 && onlyOurs && !(st.st_mode & S_IWOTH)) {
      if (fchown(fd, account.uid, account.gid) != 0) {
        throw std::runtime_error("cannot give DataDir " + dataDir + " to " + account.name + ": " +
                                 std::strerror(errno));
      }
      changed.push_back(dataDir);
    }
    for (const auto& name : ours) {
      int child = openat(fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
      if (child < 0) continue;
      try {
        takeOver(child, dataDir + "/" + name, account, changed);
      } catch (...) {
        close(child);
        throw;
      }
      close(child);
    }
  } catch (...) {
    close(fd);
    throw;
  }
  close(fd);
  return changed;
}

void dropPrivileges(const Account& account) {
  if (setgroups(account.groups.size(), account.groups.data()) != 0) {
    throw std::runtime_error("setgroups for " + account.name + ": " + std::strerror(errno));
  }
  if (setgid(account.gid) != 0) {
    throw std::runtime_error("setgid " + std::to_string(account.gid) + ": " + std::strerror(errno));
  }
  if (setuid(account.uid) != 0) {
    throw std::runtime_error("setuid " + std::to_string(account.uid) + ": " + std::strerror(errno));
  }
  // setuid as root sets the real, effective and saved ids: none may be 0 now, and asking
  // for root back must fail (a kernel or libc that kept a saved id would let it succeed).
  uid_t r, e, s;
  gid_t rg, eg, sg;
  getresuid(&r, &e, &s);
  getresgid(&rg, &eg, &sg);
  if (r != account.uid || e != account.uid || s != account.uid || rg != account.gid ||
      eg != account.gid || sg != account.gid || setuid(0) == 0 || seteuid(0) == 0) {
    throw std::runtime_error("root could be regained after switching to " + account.name);
  }
}

}  // namespace bccsink
