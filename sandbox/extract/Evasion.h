#pragma once
// Evasion: what an attacker can make bccsink miss, named so that it is never taken for
// clean (DESIGN.md, "Evasion"). A walker that meets something a sender controls and that
// keeps bytes from analysis (an encrypted archive no password opened, a limit hit, decoding
// damage, an ambiguous MIME structure) says so with a text that starts "evasion: ": as a
// file's `unscanned` reason (the file is listed, unscanned) or as a message error
// (FileVisitor::onError). The stages that judge a message (Pipeline, Scan) make its
// verdict at least suspicious when any file reason or error is an evasion, so that it is
// reported by default; an analyzer that is down stays plain unscanned.
//
// The marker is text because it travels where text goes already: the file's reason and
// the message's errors in the database, the report and the API, all unchanged.

#include <string>
#include <string_view>

namespace bccsink::sandbox {

inline constexpr std::string_view kEvasionPrefix = "evasion: ";

// "evasion: " + what, e.g. evasion("encrypted zip, no password opened it").
inline std::string evasion(std::string_view what) {
  return std::string(kEvasionPrefix) + std::string(what);
}

// True when a file reason or message error names an evasion.
inline bool isEvasion(std::string_view text) {
  return text.substr(0, kEvasionPrefix.size()) == kEvasionPrefix;
}

}  // namespace bccsink::sandbox
