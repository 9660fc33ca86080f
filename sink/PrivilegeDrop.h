#pragma once
// Started as root, `serve` binds its ports, reads its keys and opens DataDir, then runs as
// the unprivileged `User` (default bccsink) for the rest of its life, as Postfix does
// (issue 18, finding 3): an exploit in a parser then holds bccsink's files, not the
// machine. This file holds the steps: look the user up (a clear error when missing), check
// that the user can reach DataDir (every parent folder searchable), take over what root
// made in DataDir, and give up root for good (setgroups, setgid, setuid, then a check that
// setuid(0) fails).

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace bccsink {

struct Account {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;              // the user's own group
  std::vector<gid_t> groups;  // every group of the user (initgroups' list), gid included
};

// The account `User` names. Throws std::runtime_error naming the option and the fixes when
// the system has no such user.
Account lookUpAccount(const std::string& user);

// Why `account` could not use `dataDir` ('' when it can): the first parent folder it may
// not search (x), or DataDir itself when it may not read, write and search it. Mode bits
// only (owner, group, other as the kernel picks them); ACLs are not read. `checkDataDir`
// false checks the parents only (before DataDir is taken over).
std::string whyUnreachable(const std::string& dataDir, const Account& account,
                           bool checkDataDir = true);

// Gives to `account` what root owns in DataDir: DataDir itself when root owns it and it
// holds only bccsink's files (the lock, the database, spool/, files/, reports/ and names
// starting with "bccsink"), and, inside those, every folder and regular file owned by root.
// Never follows a symbolic link and never changes a file with a second hard link (a link
// planted by a compromised daemon must not hand it a root file). Returns the paths changed.
std::vector<std::string> takeOverDataDir(const std::string& dataDir, const Account& account);

// setgroups, setgid, setuid to `account`; throws when any fails or when root can be
// regained afterwards.
void dropPrivileges(const Account& account);

}  // namespace bccsink
