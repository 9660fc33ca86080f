// Office documents with VBA macros that run by themselves.
//
// Legacy OLE2 files (.doc, .xls, .ppt, .dot, .xla): the VBA project sits in storages named
// "VBA" with a "_VBA_PROJECT" stream (directory names are UTF-16), and the module source is
// compressed (MS-OVBA), which leaves "Attribut\0e VB_Nam" at its start. The names of the
// procedures and of the objects a macro uses are in the p-code's identifier table in plain
// text, which is what the strings below find. A macro that does not start by itself needs a
// click: it is not flagged. A macro that starts by itself is suspicious; one that also
// starts programs, shells or downloads is what droppers look like: dangerous.
//
// Limits: source whose p-code was removed (EvilClippy) and whose compressed text splits a
// name is missed; Excel 4.0 (XLM) macro sheets are not covered.

private rule Office_OLE_VBA_AutoExec
{
  strings:
    $vba1 = "_VBA_PROJECT" wide
    $vba2 = { 41 74 74 72 69 62 75 74 00 65 20 56 42 5F 4E 61 6D }  // Attribut\0e VB_Nam
    $auto1 = "AutoOpen" nocase
    $auto2 = "Auto_Open" nocase
    $auto3 = "AutoExec" nocase
    $auto4 = "AutoNew" nocase
    $auto5 = "AutoClose" nocase
    $auto6 = "Auto_Close" nocase
    $auto7 = "Document_Open" nocase
    $auto8 = "DocumentOpen" nocase
    $auto9 = "Document_New" nocase
    $auto10 = "Document_Close" nocase
    $auto11 = "Workbook_Open" nocase
    $auto12 = "Workbook_Activate" nocase
    $auto13 = "Workbook_BeforeClose" nocase
  condition:
    uint32be(0) == 0xD0CF11E0 and uint32be(4) == 0xA1B11AE1 and
    any of ($vba*) and any of ($auto*)
}

rule Office_OLE_AutoExec_Macro_Dropper
{
  meta:
    verdict = "dangerous"
    description = "An Office document whose macro runs when opened and starts programs or downloads"
  strings:
    $shell = "Shell" fullword
    $wsh = "WScript.Shell" nocase
    $shellapp = "Shell.Application" nocase
    $shellexec = "ShellExecute" nocase
    $urlmon = "URLDownloadToFile" nocase
    $xmlhttp1 = "MSXML2.XMLHTTP" nocase
    $xmlhttp2 = "Microsoft.XMLHTTP" nocase
    $xmlhttp3 = "WinHttp.WinHttpRequest" nocase
    $stream = "ADODB.Stream" nocase
    $ps = "powershell" nocase
    $cmd = "cmd.exe" nocase
    $cmd2 = "cmd /c" nocase
    $mshta = "mshta" nocase
    $certutil = "certutil" nocase
    $bits = "bitsadmin" nocase
    $regsvr = "regsvr32" nocase
    $rundll = "rundll32" nocase
    $wmi = "Win32_Process" nocase
  condition:
    Office_OLE_VBA_AutoExec and any of them
}

rule Office_OLE_AutoExec_Macro
{
  meta:
    verdict = "suspicious"
    description = "An Office document with a VBA macro that runs when the document is opened or closed"
  condition:
    Office_OLE_VBA_AutoExec and not Office_OLE_AutoExec_Macro_Dropper
}

// Office Open XML (.docm, .xlsm, .pptm, or one renamed .docx): a zip whose member names are
// plain text in its headers. The VBA project is the member vbaProject.bin; its content is
// compressed here, so whether the macro starts by itself cannot be told: suspicious.
rule Office_OOXML_VBA_Project
{
  meta:
    verdict = "suspicious"
    description = "An Office Open XML document holding a VBA macro project (vbaProject.bin)"
  strings:
    $vba = "vbaProject.bin" nocase
  condition:
    uint32(0) == 0x04034B50 and $vba
}

// An embedded "Package" object (Object Packager, stream \x01Ole10Native) that holds a file
// whose name ends in a program or script extension: the document shows an icon, and a
// double click runs what it carries.
rule Office_OLE_Package_Executable
{
  meta:
    verdict = "suspicious"
    description = "An Office document with an embedded package object holding a program or script"
  strings:
    $native = "Ole10Native" wide
    $name = /\.(exe|scr|com|pif|cpl|dll|msi|bat|cmd|vbs|vbe|js|jse|wsf|wsh|hta|ps1|lnk|jar)\x00/ nocase
  condition:
    uint32be(0) == 0xD0CF11E0 and uint32be(4) == 0xA1B11AE1 and $native and $name
}

// The same package object in an RTF file, where the object's bytes are written in hex: the
// file name's extension and its terminating zero are looked for in that hex.
rule RTF_Package_Executable
{
  meta:
    verdict = "suspicious"
    description = "An RTF document with an embedded package object holding a program or script"
  strings:
    $package = "\\objclass Package"
    $ext_exe = "2e65786500" nocase  // ".exe\0" in hex
    $ext_exe2 = "2e45584500" nocase  // ".EXE\0"
    $ext_scr = "2e73637200" nocase
    $ext_com = "2e636f6d00" nocase
    $ext_pif = "2e70696600" nocase
    $ext_bat = "2e62617400" nocase
    $ext_cmd = "2e636d6400" nocase
    $ext_vbs = "2e76627300" nocase
    $ext_vbe = "2e76626500" nocase
    $ext_js = "2e6a7300" nocase
    $ext_jse = "2e6a736500" nocase
    $ext_wsf = "2e77736600" nocase
    $ext_hta = "2e68746100" nocase
    $ext_ps1 = "2e70733100" nocase
    $ext_lnk = "2e6c6e6b00" nocase
  condition:
    uint32be(0) == 0x7B5C7274 and $package and any of ($ext_*)
}
