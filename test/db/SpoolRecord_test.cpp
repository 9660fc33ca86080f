#include "db/SpoolRecord.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "db/SegmentReader.h"
#include "db/SpooledMessage.h"
#include "test/TempDir.h"
#include "test/db/SampleRecord.h"

using namespace bccsink;
using namespace bccsink::db;

namespace {

const std::string kId = "01JEXAMPLE0000000000000000";

// A segment file of `records` written back to back, then `zeros` zero bytes. Version 1
// records (no envelope) unless `envelopes`.
std::string segmentOf(const std::vector<std::pair<std::string, std::string>>& records,
                      std::size_t zeros = 4096, bool envelopes = false) {
  std::string out;
  for (const auto& [id, bytes] : records) {
    std::string envelope;
    if (envelopes) {
      auto row = test::sampleRecord(id);
      row.size = static_cast<std::int64_t>(bytes.size());
      envelope = encodeEnvelope(row);
    }
    auto h = encodeRecordHeader(id, out.size(), bytes.size(), sha256Of(bytes),
                                static_cast<std::uint32_t>(envelope.size()));
    out.append(h.data(), h.size());
    out += envelope + bytes;
  }
  return out + std::string(zeros, '\0');
}

// A row with every byte a client could put in its fields: NUL, 0xff, CR LF.
MessageRecord hostileRow(std::size_t recipients) {
  MessageRecord r;
  const std::string nasty("a\0b\xff\r\n.\r\n\x80", 10);
  r.id = kId;
  r.sink = "sink" + nasty;
  r.receivedAt = "2026-12-06T04:00:00.000Z";
  r.sender = nasty + "@example.org";
  for (std::size_t k = 0; k < recipients; ++k) {
    r.recipients.push_back({std::to_string(k) + nasty, k % 2 ? nasty : "", k % 3 ? "NEVER" : ""});
  }
  r.clientIp = "::1";
  r.helo = nasty;
  r.tls = true;
  r.headerMessageId = "<" + nasty + ">";
  r.size = 1ll << 40;
  r.sha256 = std::string(64, 'f');
  r.envid = nasty;
  r.ret = "FULL";
  r.body = std::string(1, '\0');
  return r;
}

void expectSameRow(const MessageRecord& a, const MessageRecord& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.sink, b.sink);
  EXPECT_EQ(a.receivedAt, b.receivedAt);
  EXPECT_EQ(a.sender, b.sender);
  ASSERT_EQ(a.recipients.size(), b.recipients.size());
  for (std::size_t k = 0; k < a.recipients.size(); ++k) {
    EXPECT_EQ(a.recipients[k].address, b.recipients[k].address) << k;
    EXPECT_EQ(a.recipients[k].orcpt, b.recipients[k].orcpt) << k;
    EXPECT_EQ(a.recipients[k].notify, b.recipients[k].notify) << k;
  }
  EXPECT_EQ(a.clientIp, b.clientIp);
  EXPECT_EQ(a.helo, b.helo);
  EXPECT_EQ(a.tls, b.tls);
  EXPECT_EQ(a.headerMessageId, b.headerMessageId);
  EXPECT_EQ(a.size, b.size);
  EXPECT_EQ(a.sha256, b.sha256);
  EXPECT_EQ(a.envid, b.envid);
  EXPECT_EQ(a.ret, b.ret);
  EXPECT_EQ(a.body, b.body);
  EXPECT_EQ(a.hold, b.hold);
  EXPECT_EQ(a.smtputf8, b.smtputf8);
  EXPECT_EQ(a.xforward, b.xforward);
}

void writeFile(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

}  // namespace

TEST(SpoolRecord, AHeaderReadsBackAsWritten) {
  auto sha = sha256Of("hello");
  auto h = encodeRecordHeader(kId, 4096, 5, sha);
  RecordHeader out;
  std::string why;
  ASSERT_EQ(decodeRecordHeader({h.data(), h.size()}, 4096, out, why), HeaderState::Valid) << why;
  EXPECT_EQ(out.id, kId);
  EXPECT_EQ(out.length, 5u);
  EXPECT_EQ(out.sha256, sha);
  EXPECT_FALSE(out.dead);
  EXPECT_EQ(out.end(), 4096u + 96 + 5);
  // SHA-256("hello")
  EXPECT_EQ(hex(sha), "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
}

TEST(SpoolRecord, EveryDamagedByteOfAHeaderIsSeenAndTheDeadMarkIsNot) {
  auto h = encodeRecordHeader(kId, 0, 5, sha256Of("hello"));
  RecordHeader out;
  std::string why;
  for (std::size_t i = 0; i < 92; ++i) {
    auto bad = h;
    bad[i] = static_cast<char>(bad[i] ^ 0x40);
    EXPECT_EQ(decodeRecordHeader({bad.data(), bad.size()}, 0, out, why), HeaderState::Invalid)
        << "byte " << i;
  }
  auto dead = h;
  std::copy(deadMagic(1).begin(), deadMagic(1).end(), dead.begin());
  ASSERT_EQ(decodeRecordHeader({dead.data(), dead.size()}, 0, out, why), HeaderState::Valid);
  EXPECT_TRUE(out.dead);
  // The same header read at another offset is stale bytes, not a record.
  EXPECT_EQ(decodeRecordHeader({h.data(), h.size()}, 96, out, why), HeaderState::Invalid);
  std::string zeros(96, '\0');
  EXPECT_EQ(decodeRecordHeader(zeros, 0, out, why), HeaderState::Zero);
}

TEST(SpoolRecord, AVersion2HeaderCarriesItsEnvelopeLengthUnderItsChecksum) {
  auto h = encodeRecordHeader(kId, 0, 5, sha256Of("hello"), 300);
  EXPECT_EQ(std::string(h.data(), 8), "BCCSREC2");
  RecordHeader out;
  std::string why;
  ASSERT_EQ(decodeRecordHeader({h.data(), h.size()}, 0, out, why), HeaderState::Valid) << why;
  EXPECT_EQ(out.version, 2);
  EXPECT_EQ(out.envelopeLength, 300u);
  EXPECT_EQ(out.payloadOffset(), 96u + 300);
  EXPECT_EQ(out.end(), 96u + 300 + 5);
  for (std::size_t i = 0; i < kRecordHeaderSize; ++i) {
    auto bad = h;
    bad[i] = static_cast<char>(bad[i] ^ 0x40);
    EXPECT_EQ(decodeRecordHeader({bad.data(), bad.size()}, 0, out, why), HeaderState::Invalid)
        << "byte " << i;
  }
  auto dead = h;
  std::copy(deadMagic(2).begin(), deadMagic(2).end(), dead.begin());
  ASSERT_EQ(decodeRecordHeader({dead.data(), dead.size()}, 0, out, why), HeaderState::Valid);
  EXPECT_TRUE(out.dead);
  EXPECT_EQ(out.envelopeLength, 300u);
}

TEST(SpoolRecord, AnEnvelopeRoundTripsHostileBytesAndAThousandRecipients) {
  for (std::size_t recipients : {0, 1, 1000}) {
    auto row = hostileRow(recipients);
    auto block = encodeEnvelope(row);
    MessageRecord back;
    std::string why;
    ASSERT_TRUE(decodeEnvelope(block, back, why)) << why;
    expectSameRow(back, row);
    EXPECT_EQ(back.state, state::kPending);
    EXPECT_EQ(back.spoolFile, "");
  }
  // Every flipped byte and every cut is seen; none is read as another row.
  auto block = encodeEnvelope(hostileRow(3));
  for (std::size_t i = 0; i < block.size(); ++i) {
    auto bad = block;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    MessageRecord back;
    std::string why;
    EXPECT_FALSE(envelopeIntact(bad)) << i;
    EXPECT_FALSE(decodeEnvelope(bad, back, why)) << i;
    EXPECT_FALSE(decodeEnvelope(std::string_view(block).substr(0, i), back, why)) << i;
  }
}

TEST(SpoolRecord, AnSmtpModeEnvelopeKeepsWhatItsReplayNeeds) {
  auto row = hostileRow(2);
  row.hold = true;
  row.smtputf8 = true;
  row.xforward = "NAME=mail.example.net\nADDR=192.0.2.7\n";
  auto block = encodeEnvelope(row);
  MessageRecord back;
  std::string why;
  ASSERT_TRUE(decodeEnvelope(block, back, why)) << why;
  expectSameRow(back, row);
  // A BCC copy's block is as before (format 1): older records and newer ones read alike.
  auto bcc = hostileRow(2);
  EXPECT_EQ(encodeEnvelope(bcc).size() + 2 + 4 + row.xforward.size(), block.size());
  ASSERT_TRUE(decodeEnvelope(encodeEnvelope(bcc), back, why)) << why;
  EXPECT_FALSE(back.hold);
  for (std::size_t i = 0; i < block.size(); ++i) {
    auto bad = block;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    EXPECT_FALSE(decodeEnvelope(bad, back, why)) << i;
  }
}

TEST(SpoolRecord, LocatorsNameARecordOrAFileInsideTheSpoolOnly) {
  Locator l;
  ASSERT_TRUE(parseLocator(recordLocator(42, 1048576), l));
  EXPECT_EQ(recordLocator(42, 1048576), "segments/000000000042.seg#1048576");
  EXPECT_TRUE(l.record);
  EXPECT_EQ(l.file, "segments/000000000042.seg");
  EXPECT_EQ(l.offset, 1048576u);
  ASSERT_TRUE(parseLocator("01ABC.eml", l));
  EXPECT_FALSE(l.record);
  EXPECT_EQ(l.file, "01ABC.eml");
  for (const char* bad :
       {"", "../x.eml", "/etc/passwd", "a/b.eml", ".hidden", "segments/000000000042.seg#",
        "segments/000000000042.seg#1x", "segments/../x.seg#0", "other/000000000042.seg#0",
        "segments/000000000000.seg#0"}) {
    EXPECT_FALSE(parseLocator(bad, l)) << bad;
  }
  EXPECT_EQ(segmentNumber("000000000007.seg"), 7u);
  EXPECT_EQ(segmentNumber("7.seg"), 0u);
  EXPECT_EQ(segmentNumber("000000000007.seg.prep"), 0u);
}

TEST(SegmentReader, WalksRecordsToTheZerosAndStopsAtDamage) {
  test::TempDir dir;
  auto bytes = segmentOf({{kId, "first"}, {"01B", "second message"}, {"01C", ""}});
  writeFile(dir / "s.seg", bytes);
  SegmentReader r(dir / "s.seg", SegmentReader::Verify::Messages);
  std::vector<std::string> ids;
  for (RecordHeader h; r.next(h);) ids.push_back(h.id);
  EXPECT_EQ(ids, (std::vector<std::string>{kId, "01B", "01C"}));
  EXPECT_TRUE(r.damage().empty());
  EXPECT_TRUE(r.zeroFromTail());
  EXPECT_EQ(r.tail(), 3 * 96 + 5 + 14u);

  // One byte of the second message changed: the walk ends before it.
  bytes[96 + 5 + 96 + 3] ^= 1;
  writeFile(dir / "s.seg", bytes);
  SegmentReader damaged(dir / "s.seg", SegmentReader::Verify::Messages);
  RecordHeader h;
  ASSERT_TRUE(damaged.next(h));
  EXPECT_FALSE(damaged.next(h));
  EXPECT_EQ(damaged.tail(), 96 + 5u);
  EXPECT_NE(damaged.damage().find("SHA-256"), std::string::npos);
  EXPECT_FALSE(damaged.zeroFromTail());
  // Headers only: the message is not read.
  SegmentReader headers(dir / "s.seg", SegmentReader::Verify::Headers);
  int n = 0;
  while (headers.next(h)) ++n;
  EXPECT_EQ(n, 3);
}

TEST(SegmentReader, ReadsVersion1AndVersion2RecordsSideBySideAndChecksEnvelopes) {
  test::TempDir dir;
  std::filesystem::create_directories(dir / "spool/segments");
  // An old segment's records, then a new run's with envelopes.
  auto old = segmentOf({{kId, "first"}, {"01B", "second"}}, 0);
  auto bytes = old;
  for (const auto& [id, message] :
       std::vector<std::pair<std::string, std::string>>{{"01C", "third"}, {"01D", "fourth"}}) {
    auto row = test::sampleRecord(id);
    auto envelope = encodeEnvelope(row);
    auto h = encodeRecordHeader(id, bytes.size(), message.size(), sha256Of(message),
                                static_cast<std::uint32_t>(envelope.size()));
    bytes += std::string(h.data(), h.size()) + envelope + message;
  }
  writeFile(dir / "spool/segments/000000000001.seg", bytes + std::string(4096, '\0'));
  SegmentReader r(dir / "spool/segments/000000000001.seg", SegmentReader::Verify::Messages);
  std::vector<RecordHeader> records;
  for (RecordHeader h; r.next(h);) records.push_back(h);
  ASSERT_EQ(records.size(), 4u);
  EXPECT_TRUE(r.damage().empty()) << r.damage();
  EXPECT_EQ(r.tail(), bytes.size());
  EXPECT_EQ(records[1].version, 1);
  EXPECT_EQ(r.envelope(records[1]), "");
  EXPECT_EQ(records[3].version, 2);
  MessageRecord row;
  std::string why;
  ASSERT_TRUE(decodeEnvelope(r.envelope(records[3]), row, why)) << why;
  EXPECT_EQ(row.id, "01D");
  const char* texts[] = {"first", "second", "third", "fourth"};
  for (std::size_t i = 0; i < 4; ++i) {
    SpooledMessage m(dir / "spool", recordLocator(1, records[i].offset));
    EXPECT_EQ(m.bytes(), texts[i]);
  }
  // A damaged envelope ends the walk there, even when only headers are read.
  bytes[records[3].envelopeOffset() + 10] ^= 1;
  writeFile(dir / "spool/segments/000000000001.seg", bytes);
  SegmentReader damaged(dir / "spool/segments/000000000001.seg", SegmentReader::Verify::Headers);
  int n = 0;
  for (RecordHeader h; damaged.next(h);) ++n;
  EXPECT_EQ(n, 3);
  EXPECT_NE(damaged.damage().find("envelope"), std::string::npos) << damaged.damage();
}

TEST(SpooledMessage, ReadsARecordAndAStandaloneFileAndNamesTheLocatorWhenItCannot) {
  test::TempDir dir;
  std::filesystem::create_directories(dir / "spool/segments");
  writeFile(dir / "spool/segments/000000000001.seg",
            segmentOf({{kId, "first"}, {"01B", "second"}}));
  writeFile(dir / "spool/01LEGACY.eml", "Subject: old\r\n\r\nbody\r\n");
  SpooledMessage second(dir / "spool", "segments/000000000001.seg#101");
  EXPECT_EQ(second.bytes(), "second");
  EXPECT_EQ(second.recordId(), "01B");
  SpooledMessage legacy(dir / "spool", "01LEGACY.eml");
  EXPECT_EQ(legacy.bytes(), "Subject: old\r\n\r\nbody\r\n");
  EXPECT_EQ(legacy.recordId(), "");

  auto error = [&](const std::string& locator) {
    try {
      SpooledMessage m(dir / "spool", locator);
    } catch (const std::runtime_error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error("segments/000000000001.seg#100").find("segments/000000000001.seg#100"),
            std::string::npos);
  EXPECT_NE(error("segments/000000000001.seg#100").find("cannot read the spooled message"),
            std::string::npos);
  EXPECT_NE(error("segments/000000000001.seg#4000").find("no record there"), std::string::npos);
  EXPECT_NE(error("segments/000000000002.seg#0").find("No such file"), std::string::npos);
  EXPECT_NE(error("missing.eml").find("missing.eml"), std::string::npos);
  EXPECT_NE(error("../etc/passwd").find("not a spool locator"), std::string::npos);
  EXPECT_NE(error("segments").find("not a readable regular file"), std::string::npos);

  // Marked dead: never acknowledged, never read.
  int fd = open((dir / "spool/segments/000000000001.seg").c_str(), O_WRONLY);
  ASSERT_EQ(pwrite(fd, deadMagic(1).data(), 8, 101), 8);
  close(fd);
  EXPECT_NE(error("segments/000000000001.seg#101").find("dead"), std::string::npos);
}
