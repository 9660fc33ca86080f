#pragma once
// The passwords a message offers for its own encrypted archives. Attackers send a
// passworded zip (so that no gateway can read it) and write the password in the body or
// the subject ("password: 1234", "Passwort", "пароль", "mot de passe"...): the recipient
// is meant to open it, so bccsink tries what the recipient reads. The words come from the
// Subject and the text/plain and text/html parts, decoded; a word that follows a password
// keyword comes first, then other short words with a digit in them; at most 20 from the
// message, then the configured list (BccArchivePasswords).
//
// It reads the message's text on its own (a small, bounded reading of the MIME structure)
// instead of asking the MIME walker, and only when an encrypted archive is met, so that
// the walkers keep knowing nothing of passwords.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "sandbox/extract/ArchiveWalker.h"

namespace bccsink::sandbox {

class PasswordCandidates {
 public:
  static constexpr std::size_t kMaxFromMessage = 20;

  // The candidates of `message` (at most kMaxFromMessage, each with its source: "the
  // subject", "the message body"), then each of `configured` ("BccArchivePasswords").
  // Distinct, in order of likelihood. Never throws.
  static std::vector<ArchivePassword> of(std::string_view message,
                                         const std::vector<std::string>& configured);

  // The candidate words of one text, most likely first (without a limit).
  static std::vector<std::string> wordsIn(std::string_view text);

  // The decoded text of the message's text parts, one after the other (bounded).
  static std::string bodyText(std::string_view message);
};

}  // namespace bccsink::sandbox
