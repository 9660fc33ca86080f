#pragma once
// Byte samples for the YARA tests, built here rather than stored: the smallest files that
// have the structure a shipped rule looks for (etc/rules/README.md).

#include <Poco/Base64Encoder.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "test/sandbox/extract/ZipWriter.h"

namespace bccsink::test {

// The shipped rules in the source tree (BCCSINK_SOURCE_DIR, set by test/CMakeLists.txt).
inline std::string shippedRulesDir() {
  return std::string(BCCSINK_SOURCE_DIR) + "/etc/rules";
}

inline const std::string kEicar =
    "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

// `n` as little-endian bytes.
inline std::string le32(std::uint32_t n) {
  std::string s(4, '\0');
  for (int i = 0; i < 4; ++i) s[i] = static_cast<char>((n >> (8 * i)) & 0xFF);
  return s;
}

// ASCII text as UTF-16LE.
inline std::string wide(const std::string& ascii) {
  std::string out;
  for (char c : ascii) {
    out += c;
    out += '\0';
  }
  return out;
}

inline std::string base64(const std::string& bytes) {
  std::ostringstream out;
  Poco::Base64Encoder encoder(out);
  encoder.rdbuf()->setLineLength(0);
  encoder << bytes;
  encoder.close();
  return out.str();
}

// A 1 KB PE: DOS header with e_lfanew 0x80, "PE\0\0", an i386 COFF header, then padding.
inline std::string minimalPe() {
  std::string pe(1024, '\0');
  pe[0] = 'M';
  pe[1] = 'Z';
  pe.replace(0x3C, 4, le32(0x80));
  pe.replace(0x80, 6, std::string("PE\0\0\x4C\x01", 6));
  return pe;
}

// The 512-byte header sector of an OLE2 compound file, then `body`.
inline std::string oleFile(const std::string& body) {
  std::string header("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8);
  header.resize(512, '\0');
  return header + body;
}

// A Windows shortcut: the 0x4C-byte ShellLinkHeader, then `body`.
inline std::string lnkFile(const std::string& body) {
  std::string header = le32(0x4C) + std::string(
                                        "\x01\x14\x02\x00\x00\x00\x00\x00\xC0\x00\x00\x00"
                                        "\x00\x00\x00\x46",
                                        16);
  header.resize(0x4C, '\0');
  return header + body;
}

inline void writeFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
  if (!out) throw std::runtime_error("cannot write " + path);
}

}  // namespace bccsink::test
