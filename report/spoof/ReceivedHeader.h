#pragma once
// One Received header value (RFC 5321 section 4.4, RFC 5322 section 3.6.7) taken apart
// into the clauses the spoof check and reports need. Postfix, Exim, Sendmail, qmail,
// Exchange, Gmail and bccsink all write the trace differently and none of it is signed,
// so the parser is a forgiving hand-written scanner: linear in the input, no recursion,
// never throws on content.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace bccsink::report {

struct ReceivedHeader {
  // First word after "from": the HELO for Postfix, Sendmail and Exchange, the reverse
  // name for Exim and qmail. Empty when there is no from clause.
  std::string fromName;
  // The client's HELO/EHLO argument as best known: Exim's "helo=x", qmail's "(HELO x)",
  // otherwise fromName.
  std::string helo;
  // The name the receiving MTA found by reverse DNS ("unknown" as recorded), if any.
  std::string reverseName;
  // The connecting client's address in canonical text (see normalizeAddress), or empty.
  std::string ip;
  // Every address found in the from clause, in order; ip is the last. More than one only
  // when a client-supplied HELO imitates the MTA's comment, so the check weighs all.
  std::vector<std::string> addresses;
  std::string by;          // receiving host
  std::string with;        // protocol ("ESMTPS", "esmtps", "Microsoft SMTP Server")
  std::string id;          // receiving MTA's queue id
  std::string forAddress;  // "for" clause, angle brackets removed
  std::string date;        // text after the last ';', unfolded
};

// Parses a header value (without "Received:"), folded or not. Junk yields empty fields;
// every text field is one printable line of at most 255 bytes.
ReceivedHeader parseReceived(std::string_view value);

// The header on one line for a report or log: CR/LF and tabs become spaces, runs of
// spaces collapse, other control and non-ASCII bytes become '?', cut to `max` bytes with
// "..." appended when longer.
std::string printableHop(std::string_view value, std::size_t max = 200);

}  // namespace bccsink::report
