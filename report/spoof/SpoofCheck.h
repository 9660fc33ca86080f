#pragma once
// The spoofed-internal message check (DESIGN.md "Spoofed internal message", after Trend
// Micro IMSVA's filter): a message whose sender and recipient share an internal domain
// should only have passed through private or trusted hosts; a Received hop from any
// other global address means someone outside used the internal domain.

#include <cstddef>
#include <string>
#include <vector>

#include "base/Cidr.h"

namespace bccsink::report {

struct SpoofSettings {
  // InternalDomains: exact domains, compared case-insensitively; a subdomain is another
  // domain. Default empty, which turns the check off.
  std::vector<std::string> internalDomains;
  // TrustedRelays and the entries of TrustedRelaysFile: global relays allowed to carry
  // internal mail (IPv4 or IPv6, CIDR or single address). Private, loopback, link-local,
  // CGNAT and unique-local addresses never count and need not be listed. Default empty.
  std::vector<bccsink::Cidr> trustedRelays;
  // Received headers at the top to ignore, e.g. 1 for the one bccsink's own listener
  // writes. Default 0: every hop counts.
  std::size_t skipTopReceived = 0;
};

// Reads TrustedRelaysFile: one CIDR or address per line, '#' starts a comment, blank
// lines ignored, no limit on the number of entries. Throws std::runtime_error naming the
// file (and the line, for a bad entry).
std::vector<bccsink::Cidr> loadTrustedRelays(const std::string& path);

// What is known of one message. Header vectors hold every occurrence of the header.
struct SpoofInput {
  std::string envelopeSender;  // MAIL FROM path, with or without angle brackets
  // The original message's envelope recipients, if known: the original recipients a
  // recipient_bcc_maps copy carries (report::originalRecipients), the "recipient
  // (envelope)" of the filter this follows. Not the always_bcc address the copy was
  // delivered to: when that address is in an internal domain it would match every
  // internal sender.
  std::vector<std::string> envelopeRecipients;
  std::vector<std::string> from;      // From header values
  std::vector<std::string> to;        // To header values
  std::vector<std::string> cc;        // Cc header values
  std::vector<std::string> received;  // Received header values, top (newest) first
};

struct SpoofFinding {
  bool spoofed = false;
  std::string reason;  // one sentence for the administrator; empty when not spoofed
  std::string domain;  // the internal domain sender and recipient share (when spoofed)
  // 1-based position of the offending Received header counted from the top of the
  // message (skipped headers included); 0 when not spoofed.
  std::size_t hopIndex = 0;
  std::string ip;      // the untrusted global address of that hop
  std::string rawHop;  // that header's value on one line (printableHop)
};

class SpoofCheck {
 public:
  explicit SpoofCheck(SpoofSettings settings);

  // Flags the message when (a) a sender domain (envelope or From) equals a recipient
  // domain (envelope, To or Cc) that is internal, and (b) a counted Received hop came from
  // a global address outside trustedRelays. Reports the topmost such hop: it is the one
  // written by the site's own MTA, the lower ones may be forged. Never throws on content.
  SpoofFinding check(const SpoofInput& message) const;

 private:
  bool trusted(const std::string& ip) const;

  SpoofSettings settings_;
};

}  // namespace bccsink::report
