#include "db/MessageQueue.h"

#include <Poco/Data/DataException.h>
#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Statement.h>
#include <Poco/Nullable.h>

#include <algorithm>
#include <chrono>
#include <tuple>

#include "base/Clock.h"
#include "base/OriginalRecipient.h"
#include "db/Columns.h"
#include "db/Database.h"
#include "db/HoldQueue.h"

using namespace Poco::Data::Keywords;
using Poco::Data::RecordSet;
using Poco::Data::Statement;

namespace bccsink::db {
namespace {

const char* kColumns =
    "id, sink, state, reason, attempts, received_at, updated_at, sender, client_ip, helo, tls,"
    " header_message_id, size, sha256, spool_file, envid, ret, body, lease_owner, deadline_at,"
    " verdict, checked_at, errors, extracted_at, spoofed, spoof_reason, report_status,"
    " report_attempts, report_next_at, report_error, reported_at, content_expired_at";

// The rows of a statement that selected (or returned) kColumns.
std::vector<MessageRecord> readRows(RecordSet& rs) {
  std::vector<MessageRecord> out;
  for (bool more = rs.moveFirst(); more; more = rs.moveNext()) {
    MessageRecord m;
    m.id = text(rs, "id");
    m.sink = text(rs, "sink");
    m.state = text(rs, "state");
    m.reason = text(rs, "reason");
    m.attempts = static_cast<int>(integer(rs, "attempts"));
    m.receivedAt = text(rs, "received_at");
    m.updatedAt = text(rs, "updated_at");
    m.sender = text(rs, "sender");
    m.clientIp = text(rs, "client_ip");
    m.helo = text(rs, "helo");
    m.tls = integer(rs, "tls") != 0;
    m.headerMessageId = text(rs, "header_message_id");
    m.size = integer(rs, "size");
    m.sha256 = text(rs, "sha256");
    m.spoolFile = text(rs, "spool_file");
    m.envid = text(rs, "envid");
    m.ret = text(rs, "ret");
    m.body = text(rs, "body");
    m.leaseOwner = text(rs, "lease_owner");
    m.deadlineMs = integer(rs, "deadline_at");
    m.verdict = text(rs, "verdict");
    m.checkedAt = text(rs, "checked_at");
    m.errors = text(rs, "errors");
    m.extractedAt = text(rs, "extracted_at");
    m.reportStatus = text(rs, "report_status");
    m.judged = !m.reportStatus.empty() && m.reportStatus != report_status::kHeld;
    m.spoofed = integer(rs, "spoofed") != 0;
    m.spoofReason = text(rs, "spoof_reason");
    m.reportAttempts = static_cast<int>(integer(rs, "report_attempts"));
    m.reportNextMs = integer(rs, "report_next_at");
    m.reportError = text(rs, "report_error");
    m.reportedAt = text(rs, "reported_at");
    m.contentExpiredAt = text(rs, "content_expired_at");
    out.push_back(std::move(m));
  }
  return out;
}

// Keys per `IN (...)`: far below SQLite's limit of bound values.
constexpr std::size_t kKeysPerQuery = 500;

// How often a claimer searches from the front of the queue at least (Claim::fromAt).
constexpr auto kRescan = std::chrono::seconds(30);

// The recipients of every row, one query per kKeysPerQuery rows.
const char* kRecipientsOf =
    "SELECT msg_id, address, orcpt, notify, original FROM message_recipients WHERE msg_id IN ";
const char* kRecipientsOrder = " ORDER BY msg_id, position";

void addRecipients(Database& db, std::vector<MessageRecord>& rows) {
  std::map<std::string, MessageRecord*> byId;
  for (auto& m : rows) byId[m.id] = &m;
  for (std::size_t at = 0; at < rows.size(); at += kKeysPerQuery) {
    std::vector<std::string> ids;
    for (std::size_t i = at; i < std::min(rows.size(), at + kKeysPerQuery); ++i)
      ids.push_back(rows[i].id);
    Statement stmt(db.session());
    keyListStatement(db, stmt, kRecipientsOf, ids, kRecipientsOrder);
    stmt.execute();
    RecordSet r(stmt);
    for (bool more = r.moveFirst(); more; more = r.moveNext()) {
      byId[text(r, 0)]->recipients.push_back({text(r, 1), text(r, 2), text(r, 3), text(r, 4)});
    }
  }
}

// The original recipient a copy's recipient encodes (base/OriginalRecipient.h), decoded
// here so that intake and recovery (rows restored from the spool's envelopes) record the
// same. An original already given is kept. SMTP mode (`hold`) never decodes: its
// recipients are the real ones, and a real user+tag=x@ must not become another address.
std::string originalOf(const MessageRecord& m, const Recipient& r) {
  if (m.hold) return "";
  if (!r.original.empty()) return r.original;
  return decodeOriginalRecipient(r.address);
}

// The rows a claim returned, oldest first (RETURNING keeps no order).
void sortClaimed(std::vector<MessageRecord>& rows) {
  std::sort(rows.begin(), rows.end(), [](const MessageRecord& a, const MessageRecord& b) {
    return std::tie(a.receivedAt, a.id) < std::tie(b.receivedAt, b.id);
  });
}

}  // namespace

// The claim and the look-up of its rows' recipients, prepared once and executed again with
// new values (bound by reference to the members). A statement made afresh costs PostgreSQL
// four round trips (prepare, describe, execute, deallocate), a kept one one (POSTGRES.md
// 2.6), and the claim is the hot path of every worker. The recipients' `IN` has `limit`
// keys: the ids claimed, the first repeated to fill it.
struct MessageQueue::Claim {
  Claim(Database& db, std::size_t n)
      : limit(static_cast<Poco::Int64>(n)), keys(n), take(db), recipients(db) {
    // One statement: the rows are chosen and taken together (DESIGN.md, "Scale-out"), and
    // come back whole, so no look-up follows per message.
    // The search starts after the last row this claimer took (see `from`).
    *take << db.sql(std::string("UPDATE messages SET state = ?, lease_owner = ?, lease_until = ?,"
                                " attempts = attempts + 1, deadline_at = ?, updated_at = ?,"
                                " extracted_at = NULL WHERE id IN (SELECT id FROM messages"
                                " WHERE state = ? AND sink = ? AND (received_at, id) > (?, ?)"
                                " ORDER BY received_at, id LIMIT ?") +
                    db.claimLock() + ") RETURNING " + kColumns),
        use(analyzing), use(owner), use(until), use(deadline), use(at), use(pending), use(owner),
        use(fromAt), use(fromId), use(limit);
    if (n <= kKeysPerQuery) {
      keyListStatement(db, *recipients, kRecipientsOf, keys, kRecipientsOrder);
      *recipients, into(rcptMsg), into(address), into(orcpt), into(notify), into(original);
    }
  }
  bool keepsRecipients() const { return static_cast<std::size_t>(limit) <= kKeysPerQuery; }

  std::string owner, at;
  // Where the search for pending rows starts: after the last row this claimer took. On
  // PostgreSQL every row claimed leaves a dead entry at the front of the index's pending
  // range until vacuum removes it, and a transaction open anywhere (a report, a backup, an
  // administrator's psql) keeps vacuum from doing so: a search from the front walks all
  // of them, each claim slower than the last (measured: 2,500 claims/s down to 430 within
  // a minute). From the last position it walks only what other claimers took meanwhile.
  // Rows that came back to pending behind it (a lease ran out, a release, a late commit)
  // are found by a search from the front when this one comes up short, and at least
  // every kRescan.
  std::string fromAt, fromId;
  std::chrono::steady_clock::time_point rescanAt{};
  std::string pending = state::kPending, analyzing = state::kAnalyzing;
  Poco::Int64 until = 0, deadline = 0;
  Poco::Int64 limit;
  std::vector<std::string> keys;
  std::vector<std::string> rcptMsg, address, orcpt, notify, original;
  ReusedStatement take, recipients;
  bool used = false;  // executed once: prepared on the connection of that time
};

MessageQueue::MessageQueue(Database& db) : db_(db) {}
MessageQueue::~MessageQueue() = default;
MessageQueue::MessageQueue(MessageQueue&&) noexcept = default;

void MessageQueue::insertPending(const std::vector<MessageRecord>& records) {
  if (records.empty()) return;
  // Bound as columns (Poco's bulk binding): each statement is prepared once for the batch.
  // A statement bound to single values is prepared again at every execute (Poco 1.11;
  // measured: 300 rows, 300 prepares), and this runs inside the transaction a 250 waits
  // on. Empty optional columns become NULL in the SQL. What the client sent is stored
  // as storedText() makes it.
  std::vector<std::string> id, sink, receivedAt, sender, clientIp, helo, headerMessageId, sha256,
      spoolFile, envid, ret, body, reportStatus;
  std::vector<int> tls;
  std::vector<Poco::Int64> size;
  std::vector<std::string> rcptMsg, address, orcpt, notify, original;
  std::vector<int> position;
  // SMTP mode: the hold row, in the same transaction (the 250 promises its delivery).
  std::vector<std::string> heldId, heldSink, xforward;
  std::vector<int> smtputf8;
  std::vector<Poco::Int64> heldMs;
  const std::string holding = hold_state::kHolding;
  for (const auto& r : records) {
    id.push_back(r.id);
    sink.push_back(r.sink);
    receivedAt.push_back(r.receivedAt);
    sender.push_back(storedText(r.sender));
    clientIp.push_back(storedText(r.clientIp));
    helo.push_back(storedText(r.helo));
    tls.push_back(r.tls ? 1 : 0);
    headerMessageId.push_back(storedText(r.headerMessageId));
    size.push_back(r.size);
    sha256.push_back(r.sha256);
    spoolFile.push_back(storedText(r.spoolFile));
    envid.push_back(storedText(r.envid));
    ret.push_back(storedText(r.ret));
    body.push_back(storedText(r.body));
    reportStatus.push_back(r.hold ? report_status::kHeld : "");
    for (std::size_t i = 0; i < r.recipients.size(); ++i) {
      rcptMsg.push_back(r.id);
      position.push_back(static_cast<int>(i));
      address.push_back(storedText(r.recipients[i].address));
      orcpt.push_back(storedText(r.recipients[i].orcpt));
      notify.push_back(storedText(r.recipients[i].notify));
      original.push_back(storedText(originalOf(r, r.recipients[i])));
    }
    if (r.hold) {
      heldId.push_back(r.id);
      heldSink.push_back(r.sink);
      xforward.push_back(storedText(r.xforward));
      smtputf8.push_back(r.smtputf8 ? 1 : 0);
      heldMs.push_back(msOfIso(r.receivedAt));
    }
  }
  ReusedStatement message(db_), recipients(db_), held(db_);
  *message << db_.sql(std::string("INSERT INTO messages (id, sink, state, attempts, received_at,"
                                  " updated_at, sender, client_ip, helo, tls, header_message_id,"
                                  " size, sha256, spool_file, envid, ret, body, report_status)"
                                  " VALUES (?, ?, '") +
                      state::kPending +
                      "', 0, ?, ?, ?, ?, ?, ?, NULLIF(?, ''), ?, ?, ?, NULLIF(?, ''),"
                      " NULLIF(?, ''), NULLIF(?, ''), NULLIF(?, ''))"),
      use(id), use(sink), use(receivedAt), use(receivedAt), use(sender), use(clientIp), use(helo),
      use(tls), use(headerMessageId), use(size), use(sha256), use(spoolFile), use(envid), use(ret),
      use(body), use(reportStatus);
  WriteTransaction tx(db_);
  message.execute();
  if (!rcptMsg.empty()) {
    *recipients << db_.sql(
        "INSERT INTO message_recipients (msg_id, position, address, orcpt,"
        " notify, original) VALUES (?, ?, ?, NULLIF(?, ''), NULLIF(?, ''), NULLIF(?, ''))"),
        use(rcptMsg), use(position), use(address), use(orcpt), use(notify), use(original);
    recipients.execute();
  }
  if (!heldId.empty()) {
    std::vector<std::string> states(heldId.size(), holding);
    *held << db_.sql(
        "INSERT INTO held (msg_id, sink, state, smtputf8, xforward, held_ms)"
        " VALUES (?, ?, ?, ?, NULLIF(?, ''), ?)"),
        use(heldId), use(heldSink), use(states), use(smtputf8), use(xforward), use(heldMs);
    held.execute();
  }
  tx.commit();
}

std::vector<MessageRecord> MessageQueue::select(const std::string& where, const std::string& arg,
                                                std::size_t limit) {
  std::string sql = std::string("SELECT ") + kColumns + " FROM messages";
  if (!where.empty()) sql += " WHERE " + where;
  sql += " ORDER BY id";
  if (limit > 0) sql += " LIMIT " + std::to_string(limit);
  Statement stmt(db_.session());
  stmt << db_.sql(sql);
  std::string bound = arg;
  if (!where.empty()) stmt, use(bound);
  stmt.execute();
  RecordSet rs(stmt);
  auto out = readRows(rs);
  addRecipients(db_, out);
  return out;
}

std::vector<MessageRecord> MessageQueue::list(const ListFilter& filter) {
  if (filter.state.empty()) return select("", "", filter.limit);
  return select("state = ?", filter.state, filter.limit);
}

std::optional<MessageRecord> MessageQueue::find(const std::string& id) {
  auto rows = select("id = ?", id, 1);
  if (rows.empty()) return std::nullopt;
  return rows.front();
}

std::vector<MessageRecord> MessageQueue::findAll(const std::vector<std::string>& ids) {
  std::map<std::string, MessageRecord> found;
  const std::string head = std::string("SELECT ") + kColumns + " FROM messages WHERE id IN ";
  for (std::size_t at = 0; at < ids.size(); at += kKeysPerQuery) {
    std::vector<std::string> keys(ids.begin() + at,
                                  ids.begin() + std::min(ids.size(), at + kKeysPerQuery));
    Statement stmt(db_.session());
    keyListStatement(db_, stmt, head, keys, "");
    stmt.execute();
    RecordSet rs(stmt);
    for (auto& m : readRows(rs)) found.emplace(m.id, std::move(m));
  }
  std::vector<MessageRecord> out;
  for (const auto& id : ids) {
    auto it = found.find(id);
    if (it != found.end()) out.push_back(it->second);
  }
  addRecipients(db_, out);
  return out;
}

std::map<std::string, std::int64_t> MessageQueue::countByState() {
  std::vector<std::string> states;
  std::vector<Poco::Int64> counts;
  db_.session() << db_.sql("SELECT state, COUNT(*) FROM messages GROUP BY state"), into(states),
      into(counts), now;
  std::map<std::string, std::int64_t> out;
  for (std::size_t i = 0; i < states.size(); ++i) out[states[i]] = counts[i];
  return out;
}

std::int64_t MessageQueue::countInState(const std::string& st) {
  Poco::Int64 n = 0;
  std::string bound = st;
  db_.session() << db_.sql("SELECT COUNT(*) FROM messages WHERE state = ?"), use(bound), into(n),
      now;
  return n;
}

std::int64_t MessageQueue::countBacklog() {
  Poco::Int64 n = 0;
  std::string pending = state::kPending, analyzing = state::kAnalyzing;
  db_.session() << db_.sql("SELECT COUNT(*) FROM messages WHERE state IN (?, ?)"), use(pending),
      use(analyzing), into(n), now;
  return n;
}

std::vector<std::string> MessageQueue::spoolFiles() {
  std::vector<std::string> files;
  db_.session() << db_.sql("SELECT spool_file FROM messages"), into(files), now;
  return files;
}

int MessageQueue::releaseExpiredLeases(std::int64_t nowMs) {
  Poco::Int64 t = nowMs;
  std::string pending = state::kPending, analyzing = state::kAnalyzing;
  WriteTransaction tx(db_);
  Statement stmt(db_.session());
  stmt << db_.sql(
      "UPDATE messages SET state = ?, lease_owner = NULL, lease_until = NULL"
      " WHERE state = ? AND (lease_until IS NULL OR lease_until < ?)"),
      use(pending), use(analyzing), use(t);
  std::size_t n = stmt.execute();
  tx.commit();
  return static_cast<int>(n);
}

int MessageQueue::releaseLeasesOf(const std::string& sink) {
  std::string owner = sink, pending = state::kPending, analyzing = state::kAnalyzing;
  WriteTransaction tx(db_);
  Statement stmt(db_.session());
  stmt << db_.sql(
      "UPDATE messages SET state = ?, lease_owner = NULL, lease_until = NULL"
      " WHERE state = ? AND lease_owner = ?"),
      use(pending), use(analyzing), use(owner);
  std::size_t n = stmt.execute();
  tx.commit();
  return static_cast<int>(n);
}

std::vector<MessageRecord> MessageQueue::claim(const std::string& sink, std::size_t limit,
                                               std::int64_t leaseUntilMs, std::int64_t deadlineMs,
                                               const std::string& nowIso) {
  if (limit == 0) return {};
  if (!claim_ || claim_->limit != static_cast<Poco::Int64>(limit))
    claim_ = std::make_unique<Claim>(db_, limit);
  auto& c = *claim_;
  c.owner = sink;
  c.until = leaseUntilMs;
  c.deadline = deadlineMs;
  c.at = nowIso;
  const bool kept = c.used;
  try {
    return claimOnce(c);
  } catch (const DatabaseUnavailable&) {
    claim_.reset();
    throw;
  } catch (const Poco::Data::DataException&) {
    claim_.reset();
    // A kept statement lives on its connection: one reopened since (Database::session())
    // does not know it. Once more, prepared anew (the failed claim rolled back).
    if (!kept || db_.engine() != Engine::Postgresql) throw;
    return claim(sink, limit, leaseUntilMs, deadlineMs, nowIso);
  }
}

std::vector<MessageRecord> MessageQueue::claimOnce(Claim& c) {
  const auto now = std::chrono::steady_clock::now();
  if (now >= c.rescanAt) {
    c.fromAt.clear();
    c.fromId.clear();
    c.rescanAt = now + kRescan;
  }
  auto out = takeRows(c);
  if (static_cast<Poco::Int64>(out.size()) < c.limit && !c.fromAt.empty()) {
    // Short after a position: what lies before it gets its turn now.
    c.fromAt.clear();
    c.fromId.clear();
    c.rescanAt = now + kRescan;
    if (out.empty()) out = takeRows(c);
  }
  if (!out.empty()) {
    c.fromAt = out.back().receivedAt;
    c.fromId = out.back().id;
  }
  return out;
}

std::vector<MessageRecord> MessageQueue::takeRows(Claim& c) {
  if (db_.engine() == Engine::Postgresql) {
    // One statement is a transaction of its own: no BEGIN and COMMIT, two round trips of
    // the four a claim would take. SKIP LOCKED works the same outside BEGIN.
    db_.session();  // a connection the server dropped is opened again first
    c.used = true;
    c.take.execute();
  } else {
    // SQLite: through this process's gate, which a write transaction enters (Database.h).
    WriteTransaction tx(db_);
    c.used = true;
    c.take.execute();
    tx.commit();
  }
  // Read from what the statement kept, after the commit: not while other writers wait.
  RecordSet rs(*c.take);
  auto out = readRows(rs);
  sortClaimed(out);
  if (out.empty() || !c.keepsRecipients()) {
    addRecipients(db_, out);
    return out;
  }
  for (std::size_t i = 0; i < c.keys.size(); ++i) c.keys[i] = out[i < out.size() ? i : 0].id;
  for (auto* column : {&c.rcptMsg, &c.address, &c.orcpt, &c.notify, &c.original}) column->clear();
  c.recipients.execute();
  std::map<std::string, MessageRecord*> byId;
  for (auto& m : out) byId[m.id] = &m;
  for (std::size_t i = 0; i < c.rcptMsg.size(); ++i)
    byId[c.rcptMsg[i]]->recipients.push_back(
        {c.address[i], c.orcpt[i], c.notify[i], c.original[i]});
  return out;
}

std::optional<MessageRecord> MessageQueue::claimNext(const std::string& sink,
                                                     std::int64_t leaseUntilMs,
                                                     std::int64_t deadlineMs,
                                                     const std::string& nowIso) {
  auto rows = claim(sink, 1, leaseUntilMs, deadlineMs, nowIso);
  if (rows.empty()) return std::nullopt;
  return std::move(rows.front());
}

int MessageQueue::unclaim(const std::vector<std::string>& ids, const std::string& owner) {
  if (ids.empty()) return 0;
  std::string key, who = owner, pending = state::kPending, analyzing = state::kAnalyzing;
  WriteTransaction tx(db_);
  ReusedStatement stmt(db_);
  *stmt << db_.sql(
      "UPDATE messages SET state = ?, attempts = attempts - 1,"
      " lease_owner = NULL, lease_until = NULL WHERE id = ?"
      " AND state = ? AND lease_owner = ? AND extracted_at IS NULL"),
      use(pending), use(key), use(analyzing), use(who);
  std::size_t n = 0;
  for (const auto& id : ids) {
    key = id;
    n += stmt.execute();
  }
  tx.commit();
  return static_cast<int>(n);
}

int MessageQueue::renewLeases(const std::string& owner, std::int64_t leaseUntilMs) {
  std::string who = owner, analyzing = state::kAnalyzing;
  Poco::Int64 until = leaseUntilMs;
  WriteTransaction tx(db_);
  Statement stmt(db_.session());
  stmt << db_.sql("UPDATE messages SET lease_until = ? WHERE state = ? AND lease_owner = ?"),
      use(until), use(analyzing), use(who);
  std::size_t n = stmt.execute();
  tx.commit();
  return static_cast<int>(n);
}

std::vector<MessageRecord> MessageQueue::analyzingBy(const std::string& owner) {
  // Two bound values do not fit select()'s one; the owner is matched after the state.
  auto rows = select("state = ?", state::kAnalyzing, 0);
  std::vector<MessageRecord> out;
  for (auto& r : rows) {
    if (r.leaseOwner == owner) out.push_back(std::move(r));
  }
  return out;
}

bool MessageQueue::markChecked(const std::string& id, const std::string& owner,
                               const std::string& verdict, const std::string& nowIso) {
  return !markChecked({{id, verdict}}, owner, nowIso).empty();
}

std::vector<std::string> MessageQueue::markChecked(
    const std::vector<std::pair<std::string, std::string>>& verdicts, const std::string& owner,
    const std::string& nowIso) {
  std::vector<std::string> marked;
  if (verdicts.empty()) return marked;
  // One statement per verdict among them (a batch has one or two), each finding its rows
  // by key and telling which it marked: those the owner still held. A lease owner is set
  // only on `analyzing` rows (claim sets both, every way out clears it), so the owner is
  // the whole guard: a `state = 'analyzing'` beside the keys would lead PostgreSQL's
  // planner (few rows are ever analyzing) to the state index, walking the entries of
  // every message analysed since vacuum last ran, which a transaction open anywhere keeps
  // from running: measured, claims fell from 2,800/s to 700/s within a minute.
  std::map<std::string, std::vector<std::string>> byVerdict;
  for (const auto& [id, verdict] : verdicts) byVerdict[verdict].push_back(id);
  std::string who = owner, at = nowIso;
  WriteTransaction tx(db_);
  for (auto& [verdict, all] : byVerdict) {
    std::string value = verdict;
    for (std::size_t from = 0; from < all.size(); from += kKeysPerQuery) {
      std::vector<std::string> keys(all.begin() + from,
                                    all.begin() + std::min(all.size(), from + kKeysPerQuery));
      std::vector<std::string> ids;
      Statement update(db_.session());
      update, use(value), use(at), use(at);
      keyListStatement(db_, update,
                       std::string("UPDATE messages SET state = '") + state::kChecked +
                           "', verdict = ?, checked_at = ?, updated_at = ?, lease_owner = NULL,"
                           " lease_until = NULL WHERE id IN ",
                       keys, " AND lease_owner = ? RETURNING id");
      update, use(who), into(ids);
      update.execute();
      marked.insert(marked.end(), ids.begin(), ids.end());
    }
  }
  tx.commit();
  // In the order given (RETURNING keeps none).
  std::sort(marked.begin(), marked.end());
  std::vector<std::string> inOrder;
  for (const auto& [id, verdict] : verdicts) {
    if (std::binary_search(marked.begin(), marked.end(), id)) inOrder.push_back(id);
  }
  return inOrder;
}

bool MessageQueue::release(const std::string& id, const std::string& owner,
                           const std::string& reason) {
  std::string key = id, who = owner, why = storedText(reason), pending = state::kPending,
              analyzing = state::kAnalyzing;
  WriteTransaction tx(db_);
  Statement stmt(db_.session());
  stmt << db_.sql(
      "UPDATE messages SET state = ?, reason = ?, lease_owner = NULL,"
      " lease_until = NULL WHERE id = ? AND state = ? AND lease_owner = ?"),
      use(pending), use(why), use(key), use(analyzing), use(who);
  std::size_t n = stmt.execute();
  tx.commit();
  return n == 1;
}

void MessageQueue::markFailed(const std::string& id, const std::string& reason,
                              const std::string& verdict, const std::string& nowIso) {
  std::string key = id, why = storedText(reason), at = nowIso, failed = state::kFailed,
              reported = state::kReported, unscanned = verdict;
  WriteTransaction tx(db_);
  db_.session() << db_.sql(
      "UPDATE messages SET state = ?, reason = ?, verdict = ?,"
      " checked_at = ?, updated_at = ?, lease_owner = NULL,"
      " lease_until = NULL WHERE id = ? AND state <> ?"),
      use(failed), use(why), use(unscanned), use(at), use(at), use(key), use(reported), now;
  tx.commit();
}

}  // namespace bccsink::db
