#include "report/ReportMail.h"

#include <Poco/Base64Encoder.h>
#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/JSON/Array.h>
#include <Poco/Random.h>
#include <Poco/Timestamp.h>

#include <algorithm>
#include <sstream>

#include "base/JsonText.h"
#include "base/Text.h"
#include "db/HoldQueue.h"
#include "report/ReportJson.h"
#include "report/ReportView.h"

namespace bccsink::report {
namespace {

bool plainAscii(const std::string& s) {
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7e) return false;
  }
  // "=?" could be read back as an encoded-word: encode it too.
  return s.find("=?") == std::string::npos;
}

// Base64 of `bytes` in lines of 76 characters, CRLF line ends (RFC 2045 section 6.8).
std::string base64Lines(const std::string& bytes) {
  std::ostringstream out;
  {
    Poco::Base64Encoder enc(out);
    enc.rdbuf()->setLineLength(76);
    enc << bytes;
    enc.close();
  }
  std::string text = out.str(), crlf;
  for (char c : text) {
    if (c == '\n') crlf += '\r';
    crlf += c;
  }
  return crlf + "\r\n";
}

std::string boundary(const char* tag) {
  Poco::Random random;
  random.seed();
  std::ostringstream b;
  b << "=_bccsink_" << tag << "_" << std::hex << random.next() << random.next();
  return b.str();  // "=_" never occurs in base64, the only encoding of the parts
}

// SMTP mode kept the message from its recipients (quarantined, discarded, or the relay
// refused it): the subject says so, so that it stands out in the administrator's inbox.
bool keptBack(const std::string& holdState) {
  return holdState == db::hold_state::kQuarantined || holdState == db::hold_state::kDiscarded ||
         holdState == db::hold_state::kRejected;
}

std::string addressList(const std::vector<std::string>& list) {
  std::string out;
  for (const auto& a : list) out += (out.empty() ? "" : ",\r\n ") + oneLineUtf8(a, kNoLimit);
  return out;
}

std::string compose(const std::string& subject, const Rendered& body, const std::string& json,
                    const std::string& jsonName, const std::vector<std::string>& extraHeaders,
                    const MailSettings& s, std::time_t now) {
  auto mixed = boundary("mixed"), alt = boundary("alt");
  Poco::Timestamp ts = Poco::Timestamp::fromEpochTime(now);
  Poco::Random random;
  random.seed();
  std::ostringstream id;
  id << "<" << std::hex << now << "." << random.next() << random.next() << ".bccsink@"
     << (s.hostname.empty() ? "localhost" : oneLineUtf8(s.hostname, kNoLimit)) << ">";

  std::string m;
  m += "From: bccsink <" + oneLineUtf8(s.from, kNoLimit) + ">\r\n";
  m += "To: " + addressList(s.to) + "\r\n";
  m += "Subject: " + encodeHeaderText(subject, 9) + "\r\n";
  m +=
      "Date: " + Poco::DateTimeFormatter::format(ts, Poco::DateTimeFormat::RFC1123_FORMAT) + "\r\n";
  m += "Message-ID: " + id.str() + "\r\n";
  m += "Auto-Submitted: auto-generated\r\n";  // RFC 3834: no auto-replies to this
  for (const auto& h : extraHeaders) m += h + "\r\n";
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: multipart/mixed; boundary=\"" + mixed + "\"\r\n\r\n";
  m += "This is a MIME message: a text and an HTML report, and the report as JSON.\r\n";
  m += "\r\n--" + mixed + "\r\n";
  m += "Content-Type: multipart/alternative; boundary=\"" + alt + "\"\r\n\r\n";
  m += "--" + alt + "\r\n";
  m += "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n";
  m += base64Lines(body.text);
  m += "--" + alt + "\r\n";
  m += "Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n";
  m += base64Lines(body.html);
  m += "--" + alt + "--\r\n";
  m += "\r\n--" + mixed + "\r\n";
  m += "Content-Type: application/json; name=\"" + jsonName + "\"\r\n";
  m += "Content-Disposition: attachment; filename=\"" + jsonName + "\"\r\n";
  m += "Content-Transfer-Encoding: base64\r\n\r\n";
  m += base64Lines(json);
  m += "--" + mixed + "--\r\n";
  return m;
}

}  // namespace

std::string composeMail(const std::string& subject, const Rendered& body, const std::string& json,
                        const std::string& jsonName, const std::vector<std::string>& extraHeaders,
                        const MailSettings& s, std::time_t now) {
  return compose(subject, body, json, jsonName, extraHeaders, s, now);
}

std::string encodeHeaderText(const std::string& utf8, std::size_t used) {
  auto text = oneLineUtf8(utf8, kNoLimit);
  if (plainAscii(text) && used + text.size() <= 998) return text;
  // Encoded-words of at most 75 characters (RFC 2047 section 2), each holding whole UTF-8
  // characters (section 5: a word must not split a character), joined by folding white
  // space, which a reader drops between adjacent encoded-words (section 6.2).
  const std::size_t maxChunk = 45;  // bytes: base64 of 45 is 60, + "=?utf-8?B?" "?=" = 72
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    // text is valid UTF-8 and maxChunk > 4: a chunk always holds a character.
    std::size_t end = i + utf8Prefix(std::string_view(text).substr(i), maxChunk).size();
    std::ostringstream b64;
    {
      Poco::Base64Encoder enc(b64);
      enc.rdbuf()->setLineLength(0);
      enc << text.substr(i, end - i);
      enc.close();
    }
    out += (out.empty() ? "" : "\r\n ") + std::string("=?utf-8?B?") + b64.str() + "?=";
    i = end;
  }
  return out;
}

std::string composeReportMail(const Report& r, const Templates& templates, const MailSettings& s,
                              std::time_t now) {
  std::string subject = "[bccsink] " + r.verdict;
  if (r.spoof.spoofed) subject += ", spoofed";
  if (r.hold && keptBack(r.hold->state)) subject += ", " + r.hold->state;
  std::string original = r.subject.empty() ? "(no subject)" : r.subject;
  original = oneLineUtf8(original, 203);  // at most 200 bytes and "...", whole characters
  subject += ": " + original;
  std::vector<std::string> extra = {
      "X-Bccsink-Verdict: " + oneLineUtf8(r.verdict, kNoLimit),
      "X-Bccsink-Spoofed: " + std::string(r.spoof.spoofed ? "yes" : "no")};
  if (!r.id.empty()) extra.push_back("X-Bccsink-Queue-Id: " + oneLineUtf8(r.id, kNoLimit));
  if (r.hold) extra.push_back("X-Bccsink-Smtp-Mode: " + oneLineUtf8(r.hold->state, kNoLimit));
  return compose(subject, renderReport(r, templates), toJsonText(r), "report.json", extra, s, now);
}

std::string composeDigestMail(const std::vector<Report>& reports, const std::string& since,
                              const std::string& until, const Templates& templates,
                              const MailSettings& s, std::time_t now) {
  int dangerous = 0, suspicious = 0, spoofed = 0, kept = 0;
  Poco::JSON::Array::Ptr all = new Poco::JSON::Array;
  for (const auto& r : reports) {
    dangerous += r.verdict == "dangerous";
    suspicious += r.verdict == "suspicious";
    spoofed += r.spoof.spoofed;
    kept += r.hold && keptBack(r.hold->state);
    all->add(toJson(r));
  }
  std::string subject = "[bccsink] digest: " + std::to_string(reports.size()) + " messages (" +
                        std::to_string(dangerous) + " dangerous, " + std::to_string(suspicious) +
                        " suspicious, " + std::to_string(spoofed) + " spoofed";
  if (kept > 0) subject += ", " + std::to_string(kept) + " not delivered";
  subject += ")";
  return compose(subject, renderDigest(reports, since, until, templates), jsonText(all, 2),
                 "reports.json", {"X-Bccsink-Digest: " + std::to_string(reports.size())}, s, now);
}

std::string composeGroupMail(const std::vector<Report>& reports, const GroupInfo& group,
                             const Templates& templates, const MailSettings& s, std::time_t now) {
  std::string worst;
  int spoofed = 0, kept = 0;
  Poco::JSON::Array::Ptr all = new Poco::JSON::Array;
  for (const auto& r : reports) {
    if (worst.empty() || verdictRank(r.verdict) > verdictRank(worst)) worst = r.verdict;
    spoofed += r.spoof.spoofed;
    kept += r.hold && keptBack(r.hold->state);
    all->add(toJson(r));
  }
  std::string subject = "[bccsink] " + (worst.empty() ? std::string("unscanned") : worst) + ": " +
                        std::to_string(reports.size()) + (group.follows.empty() ? "" : " more") +
                        (reports.size() == 1 ? " message" : " messages") + " with ";
  // The file's name as the listing shows it ("NAME (SHA-256)"): at most 100 bytes of it.
  std::string file = group.files.empty() ? "the same file" : group.files.front();
  auto paren = file.rfind(" (");
  if (paren != std::string::npos && !group.files.empty()) file.resize(paren);
  subject += oneLineUtf8(file, 103);
  if (group.files.size() > 1) subject += " and " + std::to_string(group.files.size() - 1) + " more";
  if (spoofed > 0) subject += ", " + std::to_string(spoofed) + " spoofed";
  if (kept > 0) subject += ", " + std::to_string(kept) + " not delivered";
  if (!group.follows.empty()) subject += ", follows " + group.follows;
  std::vector<std::string> extra = {"X-Bccsink-Group: " + oneLineUtf8(group.batch, kNoLimit),
                                    "X-Bccsink-Group-Count: " + std::to_string(reports.size())};
  if (!group.follows.empty())
    extra.push_back("X-Bccsink-Follows: " + oneLineUtf8(group.follows, kNoLimit));
  return compose(subject, renderGroup(reports, group, templates), jsonText(all, 2), "reports.json",
                 extra, s, now);
}

}  // namespace bccsink::report
