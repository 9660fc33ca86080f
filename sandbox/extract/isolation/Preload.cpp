#include "sandbox/extract/isolation/Preload.h"

#include <iconv.h>

#include <string>

#include "sandbox/extract/ArchiveReader.h"

namespace bccsink::sandbox {
namespace {

// The charsets mail and archives name most (RFC 2047 words, zip's CP437, 7z's UTF-16).
constexpr const char* kCharsets[] = {
    "UTF-16LE",     "UTF-16BE",     "UTF-16",       "UTF-32",       "UTF-7",        "ISO-8859-1",
    "ISO-8859-2",   "ISO-8859-3",   "ISO-8859-4",   "ISO-8859-5",   "ISO-8859-6",   "ISO-8859-7",
    "ISO-8859-8",   "ISO-8859-9",   "ISO-8859-10",  "ISO-8859-13",  "ISO-8859-14",  "ISO-8859-15",
    "ISO-8859-16",  "WINDOWS-1250", "WINDOWS-1251", "WINDOWS-1252", "WINDOWS-1253", "WINDOWS-1254",
    "WINDOWS-1255", "WINDOWS-1256", "WINDOWS-1257", "WINDOWS-1258", "KOI8-R",       "KOI8-U",
    "CP437",        "CP850",        "CP852",        "CP866",        "CP932",        "CP936",
    "CP949",        "CP950",        "SHIFT_JIS",    "EUC-JP",       "ISO-2022-JP",  "GB2312",
    "GBK",          "GB18030",      "BIG5",         "BIG5-HKSCS",   "EUC-KR",       "ISO-2022-KR",
    "TIS-620",      "MACINTOSH"};

// A zip holding "résumé.txt" (UTF-8 flagged), as a base64 attachment.
constexpr const char* kSample =
    "MIME-Version: 1.0\r\n"
    "Subject: =?iso-8859-1?q?r=E9sum=E9?=\r\n"
    "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
    "--b\r\nContent-Type: text/plain; charset=koi8-r\r\n\r\nhello\r\n"
    "--b\r\nContent-Type: application/zip; name=\"=?utf-8?b?csOpc3Vtw6kuemlw?=\"\r\n"
    "Content-Transfer-Encoding: base64\r\n\r\n"
    "UEsDBBQAAAgAAMJzhl0gMDo2BgAAAAYAAAAMAAAAcsOpc3Vtw6kudHh0aGVsbG8KUEsBAhQDFAAACAAAwnOGXSAw"
    "OjYGAAAABgAAAAwAAAAAAAAAAAAAAIABAAAAAHLDqXN1bcOpLnR4dFBLBQYAAAAAAQABADoAAAAwAAAAAAA=\r\n"
    "--b--\r\n";

}  // namespace

void preloadForParsing(const ParseMessage& parse) {
  { Utf8Ctype utf8; }
  for (const char* from : kCharsets) {
    // Never closed: an open descriptor keeps its module loaded for the workers.
    (void)iconv_open("UTF-8", from);
    (void)iconv_open(from, "UTF-8");
  }
  try {
    parse(kSample, [](const ExtractedFile&, std::string_view) {});
  } catch (...) {
    // The sample is ours; a failure here shows in the first real message instead.
  }
}

}  // namespace bccsink::sandbox
