#include "report/ReportView.h"

#include <algorithm>
#include <cstdio>
#include <kainjow/mustache.hpp>
#include <map>
#include <stdexcept>

#include "base/Text.h"
#include "db/HoldQueue.h"
#include "sandbox/extract/Evasion.h"

namespace bccsink::report {
namespace {

using kainjow::mustache::data;
using kainjow::mustache::mustache;

#ifndef BCCSINK_VERSION
#define BCCSINK_VERSION "0"
#endif

// Characters that change how the text around them is shown without being seen: the
// Unicode bidirectional controls (U+202E turns "invoice\u202Efdp.exe" into what reads as
// "invoiceexe.pdf"), the byte order mark and the C1 controls. A report shows them as
// "\u202e", so that the reader sees the name as it is; the JSON attachment keeps the
// characters themselves (the data, for programs).
bool invisible(char32_t c) {
  return (c >= 0x80 && c <= 0x9f) || c == 0x061c || c == 0x200e || c == 0x200f ||
         (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) || c == 0xfeff;
}

std::string visibleControls(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = std::max<std::size_t>(1, utf8SequenceLength(s, i));
    char32_t c = static_cast<unsigned char>(s[i]);
    if (n == 2) c = ((c & 0x1f) << 6) | (s[i + 1] & 0x3f);
    if (n == 3) c = ((c & 0x0f) << 12) | ((s[i + 1] & 0x3f) << 6) | (s[i + 2] & 0x3f);
    if (n > 1 && n < 4 && invisible(c)) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
      out += escaped;
    } else {
      out.append(s, i, n);
    }
    i += n;
  }
  return out;
}

// A value for a text part: one line of valid UTF-8 (every control character becomes a
// space, the invisible ones above are escaped). Report fields were bounded where they came
// from.
std::string textEscape(const std::string& s) {
  return visibleControls(oneLineUtf8(s, kNoLimit));
}

// A value for the HTML part: markup-free, also inside attribute values.
std::string htmlEscape(const std::string& s) {
  std::string out;
  out.reserve(s.size() + s.size() / 8);
  for (char c : textEscape(s)) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// An empty string is set as false: to a mustache section an empty string is still true,
// and a key left out would be looked up in the enclosing context (an analyzer without
// threats would show its file's).
void setIf(data& d, const std::string& key, const std::string& value) {
  if (value.empty()) {
    d.set(key, false);
  } else {
    d.set(key, value);
  }
}

data strings(const std::vector<std::string>& list) {
  data l{data::type::list};
  for (const auto& s : list) l.push_back(data{s});
  return l;
}

data fileView(const ReportFile& f) {
  data d;
  d.set("name", f.name);
  d.set("path", f.path);
  d.set("size", std::to_string(f.size));
  d.set("md5", f.md5.empty() ? "-" : f.md5);
  d.set("sha256", f.sha256.empty() ? "-" : f.sha256);
  d.set("true_type", f.trueType);
  d.set("description", f.description);
  d.set("family", f.family);
  d.set("extension", f.extension);
  d.set("mismatch", f.extensionMismatch);
  std::string verdict = f.verdict.empty() ? (f.selected ? "pending" : "not analysed") : f.verdict;
  d.set("verdict_text", verdict);
  d.set("verdict_class", f.verdict.empty() ? "unscanned" : f.verdict);
  d.set("flagged", verdictRank(f.verdict) >= 2);
  setIf(d, "reason", f.reason);
  setIf(d, "not_kept", f.notKept);
  std::vector<std::string> all;
  data answers{data::type::list};
  for (const auto& a : f.answers) {
    data ad;
    ad.set("analyzer", a.analyzer);
    ad.set("verdict", a.verdict);
    setIf(ad, "score", a.score > 0 ? std::to_string(a.score) : "");
    setIf(ad, "threats", join(a.threats, ", "));
    setIf(ad, "report_url", a.reportUrl);
    setIf(ad, "reason", a.reason);
    answers.push_back(ad);
    all.insert(all.end(), a.threats.begin(), a.threats.end());
  }
  d.set("answers", answers);
  setIf(d, "threats", join(all, ", "));
  return d;
}

// What the sender kept from analysis, one line per reason ("evasion: encrypted zip, no
// password opened it: a.zip > a.exe, a.zip > b.txt"), then the evasions among the errors:
// the reason a message is suspicious when no analyzer said so.
std::vector<std::string> evasions(const Report& r) {
  constexpr std::size_t kMaxPaths = 5;
  std::vector<std::string> order;
  std::map<std::string, std::vector<std::string>> paths;
  for (const auto& f : r.files) {
    if (f.verdict != "unscanned" || !sandbox::isEvasion(f.reason)) continue;
    auto& list = paths[f.reason];
    if (list.empty()) order.push_back(f.reason);
    list.push_back(f.path);
  }
  std::vector<std::string> out;
  for (const auto& reason : order) {
    const auto& list = paths[reason];
    std::vector<std::string> shown(list.begin(), list.begin() + std::min(list.size(), kMaxPaths));
    std::string line = reason + ": " + join(shown, ", ");
    if (list.size() > kMaxPaths)
      line += " and " + std::to_string(list.size() - kMaxPaths) + " more";
    out.push_back(line);
  }
  for (const auto& e : r.errors) {
    if (sandbox::isEvasion(e)) out.push_back(e);
  }
  return out;
}

// SMTP mode's outcome for the templates (templates/README.md): the row's fields, one line
// saying what was done ("quarantined (dangerous: ...) — not delivered"), and the command
// that delivers the message after all where the report offers one: a quarantined message's
// release, a rejected one's second try. A discarded message is kept as evidence and not
// announced as releasable (an administrator can still release it with the same command).
data holdView(const HoldOutcome& h, const std::string& id) {
  const auto why = h.why.empty() ? std::string() : " (" + h.why + ")";
  std::string outcome;
  if (h.state == db::hold_state::kHolding) {
    outcome = "held until its verdict — not delivered yet";
  } else if (h.state == db::hold_state::kDeliver) {
    outcome = h.action == db::hold_action::kTag ? "tagged, being delivered" : "being delivered";
    if (!h.releasedBy.empty()) outcome = "released by " + h.releasedBy + ", being delivered";
    if (h.tries > 0) {
      outcome +=
          " (" + std::to_string(h.tries) + (h.tries == 1 ? " try" : " tries") + " failed so far";
      outcome += h.lastError.empty() ? ")" : ", last: " + h.lastError + ")";
    }
  } else if (h.state == db::hold_state::kDelivered) {
    if (!h.releasedBy.empty())
      outcome = "released by " + h.releasedBy + " and delivered";
    else
      outcome = (h.action == db::hold_action::kTag ? "tagged and delivered" : "delivered") + why;
  } else if (h.state == db::hold_state::kQuarantined) {
    outcome = "quarantined" + why + " — not delivered";
  } else if (h.state == db::hold_state::kDiscarded) {
    outcome = "discarded (kept as evidence) — not delivered" + why;
  } else if (h.state == db::hold_state::kRejected) {
    outcome = "rejected by the relay" + (h.lastError.empty() ? "" : ": " + h.lastError) +
              " — not delivered";
  } else if (h.state == db::hold_state::kDeleted) {
    outcome = "deleted from quarantine" + (h.releasedBy.empty() ? "" : " by " + h.releasedBy) +
              " — not delivered";
  } else {
    outcome = h.state;
  }
  const std::string command = "bccsink quarantine release " + id;
  data d;
  d.set("state", h.state);
  d.set("action", h.action);
  setIf(d, "why", h.why);
  d.set("outcome", outcome);
  setIf(d, "release_command", h.state == db::hold_state::kQuarantined ? command : "");
  setIf(d, "retry_command", h.state == db::hold_state::kRejected ? command : "");
  d.set("delivered", h.state == db::hold_state::kDelivered);
  d.set("tries", std::to_string(h.tries));
  setIf(d, "last_error", h.lastError);
  setIf(d, "relay_reply", h.relayReply);
  setIf(d, "released_by", h.releasedBy);
  setIf(d, "released_at", h.releasedAt);
  setIf(d, "decided_at", h.decidedAt);
  setIf(d, "delivered_at", h.deliveredAt);
  return d;
}

data reportView(const Report& r) {
  data d;
  d.set("version", BCCSINK_VERSION);
  d.set("id", r.id.empty() ? "-" : r.id);
  d.set("verdict", r.verdict);
  d.set("spoofed", r.spoof.spoofed);
  setIf(d, "spoof_reason", r.spoof.reason);
  d.set("subject", r.subject.empty() ? "(no subject)" : r.subject);
  d.set("from", r.from);
  d.set("to", strings(r.to));
  d.set("cc", strings(r.cc));
  d.set("date", r.date);
  d.set("message_id", r.messageId);
  d.set("envelope_sender", r.envelopeSender.empty() ? "<>" : r.envelopeSender);
  d.set("envelope_recipients", join(r.envelopeRecipients, ", "));
  setIf(d, "original_recipients", join(r.originalRecipients, ", "));  // false when unknown
  d.set("has_origin", !r.originIp.empty());
  d.set("origin_ip", r.originIp);
  d.set("origin_helo", r.originHelo.empty() ? "unknown" : r.originHelo);
  d.set("client_ip", r.clientIp);
  d.set("helo", r.helo);
  d.set("received_at", r.receivedAt);
  d.set("checked_at", r.checkedAt);
  setIf(d, "failure", r.failure);
  d.set("file_count", std::to_string(r.files.size()));
  data files{data::type::list};
  for (const auto& f : r.files) files.push_back(fileView(f));
  d.set("files", files);
  const auto evaded = evasions(r);
  d.set("has_evasions", !evaded.empty());
  d.set("evasions", strings(evaded));
  d.set("has_errors", !r.errors.empty());
  d.set("errors", strings(r.errors));
  if (r.hold) {
    d.set("hold", holdView(*r.hold, r.id));
  } else {
    d.set("hold", false);
  }
  return d;
}

std::string render(const Templates& templates, const char* name, const data& view,
                   std::string (*escape)(const std::string&)) {
  mustache m(templates.get(name));
  m.set_custom_escape(escape);
  auto out = m.render(view);
  if (!m.is_valid()) throw std::runtime_error(std::string(name) + ": " + m.error_message());
  return out;
}

// Template lines that only held a section tag leave blank lines behind (this mustache
// does not drop "standalone" tag lines): at most one blank line in a row is kept.
std::string tidyText(const std::string& text) {
  std::string out;
  int newlines = 0;
  for (char c : text) {
    newlines = c == '\n' ? newlines + 1 : 0;
    if (newlines <= 2) out += c;
  }
  return out;
}

}  // namespace

std::string escapedText(const std::string& value) {
  return textEscape(value);
}

std::string escapedHtml(const std::string& value) {
  return htmlEscape(value);
}

std::string tidiedText(const std::string& text) {
  return tidyText(text);
}

Rendered renderReport(const Report& report, const Templates& templates) {
  auto view = reportView(report);
  return {tidyText(render(templates, Templates::kReportText, view, textEscape)),
          render(templates, Templates::kReportHtml, view, htmlEscape)};
}

namespace {

data digestView(const std::vector<Report>& reports, const std::string& since,
                const std::string& until) {
  data view;
  view.set("version", BCCSINK_VERSION);
  view.set("count", std::to_string(reports.size()));
  view.set("since", since);
  view.set("until", until);
  view.set("smtp_mode", std::any_of(reports.begin(), reports.end(),
                                    [](const Report& r) { return r.hold.has_value(); }));
  data list{data::type::list};
  for (const auto& r : reports) list.push_back(reportView(r));
  view.set("reports", list);
  view.set("group", false);
  view.set("follows", false);
  return view;
}

Rendered renderDigestView(const data& view, const Templates& templates) {
  return {tidyText(render(templates, Templates::kDigestText, view, textEscape)),
          render(templates, Templates::kDigestHtml, view, htmlEscape)};
}

}  // namespace

Rendered renderDigest(const std::vector<Report>& reports, const std::string& since,
                      const std::string& until, const Templates& templates) {
  return renderDigestView(digestView(reports, since, until), templates);
}

Rendered renderGroup(const std::vector<Report>& reports, const GroupInfo& group,
                     const Templates& templates) {
  // since..until: when the first and the last of them were received.
  auto view = digestView(reports, reports.empty() ? "" : reports.front().receivedAt,
                         reports.empty() ? "" : reports.back().receivedAt);
  view.set("group", true);
  view.set("group_id", group.batch);
  view.set("group_files", strings(group.files));
  setIf(view, "follows", group.follows);
  view.set("follows_at", group.followsAt);
  view.set("follows_count", std::to_string(group.followsCount));
  view.set("earlier", std::to_string(group.earlier));
  return renderDigestView(view, templates);
}

}  // namespace bccsink::report
